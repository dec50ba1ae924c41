package main

import (
	"context"
	"io"
	"net/url"
	"strconv"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/duration"
	"github.com/drawbridge-jit/drawbridge/grammar"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
)

// Remote mode: with --addr (DRAWBRIDGE_ADDR) the request lifecycle
// commands call a server's API instead of opening the store, with the same
// output and exit codes. The identity is the token's: the server refuses a
// positional requester or approver other than the token's principal unless
// the token is admin (then it is recorded as on-behalf-of).

func (g *globals) remote() bool { return g.addr != "" }

func (g *globals) client() (*dbhttp.Client, error) {
	if g.token == "" {
		return nil, usageError("remote mode (--addr %s) needs a token: --token or DRAWBRIDGE_TOKEN", g.addr)
	}
	return dbhttp.NewClient(g.addr, g.token), nil
}

// remoteResult runs one API call that returns a request, and prints it
// like local mode (DENIED exits 3).
func (g *globals) remoteResult(call func(*dbhttp.Client) (*drawbridge.Request, error)) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	r, err := call(c)
	if err != nil {
		return err
	}
	return g.printResult(r)
}

// remoteSubmit sends a request in the API's names; the server resolves the
// resource in its catalog and takes the requester from the token unless
// one is named (admin tokens only).
func (g *globals) remoteSubmit(ctx context.Context, req grammar.Request) error {
	return g.remoteResult(func(c *dbhttp.Client) (*drawbridge.Request, error) {
		return c.Submit(ctx, dbhttp.CreateRequest{Requester: req.Requester, Provider: req.Provider, Resource: req.Resource,
			Role: req.Role, Duration: duration.Format(req.Duration), Reason: req.Reason, Ticket: req.Ticket})
	})
}

func (g *globals) remoteStatus(ctx context.Context, id string) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	r, err := c.Get(ctx, id)
	if err != nil {
		return err
	}
	return g.printRequest(r)
}

func (g *globals) remoteList(ctx context.Context, f drawbridge.RequestFilter, requester string) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	q := url.Values{}
	if len(f.States) > 0 {
		s := ""
		for i, st := range f.States {
			if i > 0 {
				s += ","
			}
			s += string(st)
		}
		q.Set("state", s)
	}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("requester", requester)
	set("provider", f.Provider)
	set("resource", f.Resource)
	set("role", f.Role)
	q.Set("limit", strconv.Itoa(min(f.Limit, 500)))
	l, err := c.List(ctx, q)
	if err != nil {
		return err
	}
	return g.printList(l.Requests)
}

func (g *globals) remoteAction(ctx context.Context, id, verb string, body any) error {
	return g.remoteResult(func(c *dbhttp.Client) (*drawbridge.Request, error) {
		return c.Action(ctx, id, verb, body)
	})
}

// remoteExport streams the requests CSV of /api/exports.csv (remote mode's
// audit export: auditors read requests, not the raw chain).
func (g *globals) remoteExport(ctx context.Context, q url.Values, out string) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	var w io.Writer = g.stdout
	if out != "" && out != "-" {
		f, err := createPrivate(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return c.ExportCSV(ctx, q, w)
}

// exportFilters are the /api/exports.csv filters `audit export` passes on
// in remote mode.
var exportFilters = []string{"status", "provider", "resource", "account_id", "role", "permission_set_name", "requester", "requester_slack_user_id", "from", "to"}

func exportQuery(flags map[string]*string) url.Values {
	q := url.Values{}
	for k, v := range flags {
		if *v != "" {
			q.Set(k, *v)
		}
	}
	return q
}
