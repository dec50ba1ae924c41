package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"net/url"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// Client calls a Drawbridge server's API with a bearer token (the CLI's
// remote mode). Errors come back as *drawbridge.Error with the code the
// server sent, so callers map them exactly as they map local errors.
type Client struct {
	// BaseURL is the server, e.g. http://127.0.0.1:8080.
	BaseURL string
	Token   string
	HTTP    *nethttp.Client
}

// NewClient returns a client for addr ("host:port" means http://host:port).
func NewClient(addr, token string) *Client {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return &Client{BaseURL: strings.TrimRight(addr, "/"), Token: token, HTTP: &nethttp.Client{Timeout: 2 * time.Minute}}
}

// Do sends one API call; in is JSON-encoded when non-nil, and a 2xx body
// is decoded into out when out is non-nil.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: reading the response: %w", method, path, err)
	}
	return nil
}

// send returns a response with a 2xx status, or the server's error.
func (c *Client) send(ctx context.Context, method, path string, in any) (*nethttp.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := nethttp.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, drawbridge.Errorf(drawbridge.EINVALID, "--addr %q: %v", c.BaseURL, err)
	}
	req.Header.Set(ContractHeader, ContractVersion)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = nethttp.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, c.BaseURL+path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var eb errorBody
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
		eb.Error.Code = codeOf(resp.StatusCode)
		eb.Error.Message = fmt.Sprintf("%s %s: %s", method, path, resp.Status)
	}
	return nil, &drawbridge.Error{Code: eb.Error.Code, Message: eb.Error.Message}
}

func codeOf(status int) string {
	for _, c := range []string{drawbridge.EINVALID, drawbridge.EUNAUTHORIZED, drawbridge.EFORBIDDEN,
		drawbridge.ENOTFOUND, drawbridge.ECONFLICT, drawbridge.EUNAVAILABLE} {
		if drawbridge.HTTPStatus(c) == status {
			return c
		}
	}
	return drawbridge.EINTERNAL
}

// Submit creates a request.
func (c *Client) Submit(ctx context.Context, in CreateRequest) (*drawbridge.Request, error) {
	var r drawbridge.Request
	return &r, c.Do(ctx, "POST", "/v1/requests", in, &r)
}

// Get returns one request.
func (c *Client) Get(ctx context.Context, id string) (*drawbridge.Request, error) {
	var r drawbridge.Request
	return &r, c.Do(ctx, "GET", "/v1/requests/"+url.PathEscape(id), nil, &r)
}

// List returns one page of requests.
func (c *Client) List(ctx context.Context, q url.Values) (*RequestList, error) {
	var l RequestList
	return &l, c.Do(ctx, "GET", "/v1/requests?"+q.Encode(), nil, &l)
}

// Action posts to /v1/requests/{id}/{verb} (approve, deny, cancel,
// revoke, extend).
func (c *Client) Action(ctx context.Context, id, verb string, in any) (*drawbridge.Request, error) {
	var r drawbridge.Request
	return &r, c.Do(ctx, "POST", "/v1/requests/"+url.PathEscape(id)+"/"+verb, in, &r)
}

// ExportCSV streams /api/exports.csv with the filters q to w.
func (c *Client) ExportCSV(ctx context.Context, q url.Values, w io.Writer) error {
	resp, err := c.send(ctx, "GET", "/api/exports.csv?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}
