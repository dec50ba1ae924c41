package http

import (
	"context"
	nethttp "net/http"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/duration"
)

// CreateRequest is the body of POST /v1/requests. Resource and role take
// the AWS names as aliases (account_id, permission_set). The duration is
// duration_seconds or a duration string ("30m", "2h", "1d12h").
type CreateRequest struct {
	// Requester defaults to the token's principal; naming someone else
	// needs an admin token and is recorded as on-behalf-of.
	Requester       string `json:"requester,omitempty"`
	Provider        string `json:"provider,omitempty"`
	Resource        string `json:"resource,omitempty"`
	Role            string `json:"role,omitempty"`
	AccountID       string `json:"account_id,omitempty" desc:"a string of 12 digits"`
	PermissionSet   string `json:"permission_set,omitempty"`
	DurationSeconds int64  `json:"duration_seconds,omitempty" desc:"a whole number of seconds"`
	Duration        string `json:"duration,omitempty" desc:"a duration string such as \"30m\", \"2h\" or \"1d12h\""`
	Reason          string `json:"reason,omitempty"`
	Ticket          string `json:"ticket,omitempty"`
}

// ReviewRequest is the body of approve and deny.
type ReviewRequest struct {
	// Approver defaults to the token's principal; naming someone else
	// needs an admin token.
	Approver string `json:"approver,omitempty"`
	Comment  string `json:"comment,omitempty"`
}

// RevokeRequest is the body of revoke (and optionally cancel).
type RevokeRequest struct {
	Reason string `json:"reason,omitempty"`
}

// ExtendRequest is the body of extend.
type ExtendRequest struct {
	DurationSeconds int64  `json:"duration_seconds,omitempty" desc:"a whole number of seconds"`
	Duration        string `json:"duration,omitempty" desc:"a duration string such as \"30m\", \"2h\" or \"1d12h\""`
	Reason          string `json:"reason,omitempty"`
	Ticket          string `json:"ticket,omitempty"`
}

// RequestList is a page of requests; NextCursor is empty on the last page.
type RequestList struct {
	Requests   []*drawbridge.Request `json:"requests"`
	NextCursor string                `json:"next_cursor,omitempty"`
}

// durationOf reads the body's duration with the grammar every channel
// shares; the broker then applies the limits (limits.min_duration, the
// 168h hard limit) to whatever channel the request came through.
func durationOf(seconds int64, s string) (time.Duration, error) {
	var d time.Duration
	var err error
	switch {
	case seconds != 0 && s != "":
		return 0, drawbridge.Errorf(drawbridge.EINVALID, "give duration_seconds or duration, not both")
	case s != "":
		d, err = duration.Parse(s)
	case seconds != 0:
		d, err = duration.Seconds(seconds)
	default:
		return 0, drawbridge.Errorf(drawbridge.EINVALID, `the body needs duration (e.g. "30m", "2h", "1d12h") or duration_seconds`)
	}
	if err != nil {
		return 0, drawbridge.Errorf(drawbridge.EINVALID, "%v", err)
	}
	return d, nil
}

func (s *Server) createRequest(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	var in CreateRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	e := drawbridge.Entitlement{Provider: in.Provider, Resource: in.Resource, Role: in.Role}
	for _, alias := range []struct {
		dst            *string
		v, name, canon string
	}{
		{&e.Resource, in.AccountID, "account_id", "resource"}, {&e.Role, in.PermissionSet, "permission_set", "role"},
	} {
		if alias.v != "" && *alias.dst != "" && *alias.dst != alias.v {
			return drawbridge.Errorf(drawbridge.EINVALID, "%s and %s disagree: give one", alias.name, alias.canon)
		}
		if alias.v != "" {
			*alias.dst = alias.v
		}
	}
	if e.Resource == "" || e.Role == "" {
		return drawbridge.Errorf(drawbridge.EINVALID, "the body needs resource (or account_id) and role (or permission_set); provider is optional for an AWS account id or a catalog alias")
	}
	// The broker resolves e in the provider's catalog (an alias becomes
	// the resource's name) before checking the caller's scope against it.
	d, err := durationOf(in.DurationSeconds, in.Duration)
	if err != nil {
		return err
	}
	if in.Requester == "" {
		in.Requester = c.Principal
	}
	req, err := s.Broker.Submit(r.Context(), broker.SubmitInput{
		Requester: in.Requester, Entitlement: e, Duration: d, Reason: in.Reason, Ticket: in.Ticket,
	}, c, decideOptions(r)...)
	if err != nil {
		return err
	}
	// A DENIED request is recorded, so it is created: 201 with its state.
	writeDecided(w, r, nethttp.StatusCreated, req)
	return nil
}

func (s *Server) listRequests(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	f, _, err := s.parseFilter(r.Context(), r.URL.Query())
	if err != nil {
		return err
	}
	if err := c.Narrow(&f); err != nil {
		return err
	}
	return s.writePage(w, r, f)
}

func (s *Server) writePage(w nethttp.ResponseWriter, r *nethttp.Request, f drawbridge.RequestFilter) error {
	rs, err := s.Store.ListRequests(r.Context(), f)
	if err != nil {
		return err
	}
	page := RequestList{Requests: rs}
	if len(rs) == f.Limit && len(rs) > 0 {
		page.NextCursor = rs[len(rs)-1].ID
	}
	writeJSON(w, 200, page)
	return nil
}

// load returns the request named in the path if c may see it. A request
// outside the caller's view is "not found", so ids cannot be probed.
func (s *Server) load(r *nethttp.Request, c drawbridge.Caller) (*drawbridge.Request, error) {
	id := r.PathValue("id")
	req, err := s.Broker.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if !c.CanSee(req) {
		return nil, drawbridge.Errorf(drawbridge.ENOTFOUND, "request %s not found", id)
	}
	return req, nil
}

func (s *Server) getRequest(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	req, err := s.load(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, 200, req)
	return nil
}

// act decodes the body into in, loads the request in the path (if the
// caller may see it), runs do on it and answers with the result.
func (s *Server) act(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller, in any,
	do func(ctx context.Context, req *drawbridge.Request) (*drawbridge.Request, error)) error {
	if err := decode(r, in); err != nil {
		return err
	}
	req, err := s.load(r, c)
	if err != nil {
		return err
	}
	out, err := do(r.Context(), req)
	if err != nil {
		return err
	}
	writeDecided(w, r, 200, out)
	return nil
}

func (s *Server) review(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller, approve bool) error {
	var in ReviewRequest
	return s.act(w, r, c, &in, func(ctx context.Context, req *drawbridge.Request) (*drawbridge.Request, error) {
		if in.Approver == "" {
			in.Approver = c.Principal
		}
		if approve {
			return s.Broker.Approve(ctx, req.ID, in.Approver, in.Comment, c, decideOptions(r)...)
		}
		return s.Broker.Deny(ctx, req.ID, in.Approver, in.Comment, c)
	})
}

func (s *Server) approve(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	return s.review(w, r, c, true)
}

func (s *Server) deny(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	return s.review(w, r, c, false)
}

func (s *Server) cancel(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	var in RevokeRequest
	return s.act(w, r, c, &in, func(ctx context.Context, req *drawbridge.Request) (*drawbridge.Request, error) {
		return s.Broker.Cancel(ctx, req.ID, c)
	})
}

func (s *Server) revoke(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	var in RevokeRequest
	return s.act(w, r, c, &in, func(ctx context.Context, req *drawbridge.Request) (*drawbridge.Request, error) {
		return s.Broker.Revoke(ctx, req.ID, in.Reason, c)
	})
}

func (s *Server) extend(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	var in ExtendRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	d, err := durationOf(in.DurationSeconds, in.Duration)
	if err != nil {
		return err
	}
	req, err := s.load(r, c)
	if err != nil {
		return err
	}
	out, err := s.Broker.Extend(r.Context(), req.ID, d, in.Reason, in.Ticket, c, decideOptions(r)...)
	if err != nil {
		return err
	}
	writeDecided(w, r, nethttp.StatusCreated, out)
	return nil
}
