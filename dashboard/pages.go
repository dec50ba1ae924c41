package dashboard

import (
	"context"
	"fmt"
	nethttp "net/http"
	"net/url"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/audit"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/duration"
	"github.com/drawbridge-jit/drawbridge/grammar"
	"github.com/drawbridge-jit/drawbridge/policy"
)

// pageSize is the rows per page of the request lists.
const pageSize = 50

// listForm is the request list's filter as the form shows it.
type listForm struct {
	Status, Provider, Resource, Role, Requester, From, To string
}

func (f listForm) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "provider": f.Provider, "resource": f.Resource,
		"role": f.Role, "requester": f.Requester, "from": f.From, "to": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

var listParams = map[string]bool{"status": true, "provider": true, "resource": true, "role": true,
	"requester": true, "from": true, "to": true, "cursor": true, "id": true, "done": true}

// parseFilter reads the list filters. Every value is checked before it
// reaches the store, and a wrong one says what is accepted.
func (s *Server) parseFilter(ctx context.Context, q url.Values) (drawbridge.RequestFilter, listForm, error) {
	var f drawbridge.RequestFilter
	form := listForm{Status: q.Get("status"), Provider: strings.TrimSpace(q.Get("provider")), Resource: strings.TrimSpace(q.Get("resource")),
		Role: strings.TrimSpace(q.Get("role")), Requester: strings.TrimSpace(q.Get("requester")), From: q.Get("from"), To: q.Get("to")}
	for k := range q {
		if !listParams[k] {
			return f, form, drawbridge.Errorf(drawbridge.EINVALID, "unknown filter %q (accepted: status, provider, resource, role, requester, from, to, cursor, id)", k)
		}
	}
	if form.Status != "" {
		st, err := drawbridge.ParseState(strings.ToUpper(form.Status))
		if err != nil {
			return f, form, drawbridge.Errorf(drawbridge.EINVALID, "status: %s", drawbridge.ErrorMessage(err))
		}
		f.States = []drawbridge.State{st}
	}
	for _, p := range []struct {
		name string
		v    string
		dst  *string
	}{{"provider", form.Provider, &f.Provider}, {"resource", form.Resource, &f.Resource}, {"role", form.Role, &f.Role}} {
		if p.v == "" {
			continue
		}
		if err := drawbridge.CheckID(p.name, p.v); err != nil {
			return f, form, err
		}
		*p.dst = p.v
	}
	if form.Requester != "" {
		if err := drawbridge.CheckID("requester", form.Requester); err != nil {
			return f, form, err
		}
		f.Requester = s.principalID(ctx, form.Requester)
	}
	var err error
	if f.CreatedFrom, err = parseDate("from", form.From); err != nil {
		return f, form, err
	}
	if f.CreatedTo, err = parseDate("to", form.To); err != nil {
		return f, form, err
	}
	if !f.CreatedTo.IsZero() {
		f.CreatedTo = f.CreatedTo.Add(24 * time.Hour) // "to" is the last day shown
	}
	if !f.CreatedFrom.IsZero() && !f.CreatedTo.IsZero() && !f.CreatedFrom.Before(f.CreatedTo) {
		return f, form, drawbridge.Errorf(drawbridge.EINVALID, "the date range is empty: from must be on or before to")
	}
	if v := q.Get("cursor"); v != "" {
		if !drawbridge.ValidRequestID(v) {
			return f, form, drawbridge.Errorf(drawbridge.EINVALID, "cursor %q is not valid: use the page links", v)
		}
		f.Cursor = v
	}
	f.Limit = pageSize
	return f, form, nil
}

func parseDate(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil || t.Year() < 1900 || t.Year() > 2200 {
		return time.Time{}, drawbridge.Errorf(drawbridge.EINVALID, "%s %q must be a date such as 2026-01-02", name, v)
	}
	return t, nil
}

// principalID is the canonical id of who, as requests record it; a
// person the directory does not know keeps a form that matches nobody.
func (s *Server) principalID(ctx context.Context, who string) string {
	if s.Broker != nil && s.Broker.Directory != nil {
		if p, err := s.Broker.Directory.Resolve(ctx, who); err == nil {
			return p.ID
		}
	}
	return drawbridge.CanonicalPrincipalID(who)
}

// listData is a page of requests.
type listData struct {
	Form   listForm
	States []drawbridge.State
	Rows   []row
	Next   string
	CSV    string
}

// row is one request in a list, with what the viewer may do to it.
type row struct {
	*drawbridge.Request
	Actions actions
}

type actions struct {
	Review, Cancel, Revoke, Extend bool
}

// allowed says which actions to offer c on r. The broker decides again
// when one is used; this only keeps buttons off that would be refused.
func allowed(c drawbridge.Caller, r *drawbridge.Request) actions {
	own := r.Requester == c.Principal
	return actions{
		Review: c.Can(drawbridge.PermReview) && r.State == drawbridge.StatePendingApproval && !own,
		Cancel: c.Can(drawbridge.PermCancel) && (own || c.Admin()) && r.State == drawbridge.StatePendingApproval,
		Revoke: c.Can(drawbridge.PermRevoke) && (own || c.Admin()) && r.State == drawbridge.StateActive,
		Extend: c.Can(drawbridge.PermExtend) && own && r.State == drawbridge.StateActive,
	}
}

func rows(c drawbridge.Caller, rs []*drawbridge.Request) []row {
	out := make([]row, len(rs))
	for i, r := range rs {
		out[i] = row{Request: r, Actions: allowed(c, r)}
	}
	return out
}

func (s *Server) requests(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	q := r.URL.Query()
	if id := strings.TrimSpace(q.Get("id")); id != "" {
		if !drawbridge.ValidRequestID(id) {
			return drawbridge.Errorf(drawbridge.EINVALID, "%q is not a request id: they look like req_0190… (copy it from a list, Slack or the CLI)", id)
		}
		nethttp.Redirect(w, r, "/dashboard/requests/"+id, nethttp.StatusSeeOther)
		return nil
	}
	f, form, err := s.parseFilter(r.Context(), q)
	if err != nil {
		return err
	}
	if err := c.Narrow(&f); err != nil {
		return err
	}
	page, err := s.Store.ListRequests(r.Context(), f)
	if err != nil {
		return err
	}
	d := listData{Form: form, States: drawbridge.States, Rows: rows(c, page)}
	fq := form.query()
	d.CSV = "/dashboard/requests.csv?" + fq.Encode()
	if len(page) == f.Limit {
		fq.Set("cursor", page[len(page)-1].ID)
		d.Next = "/dashboard/requests?" + fq.Encode()
	}
	s.render(w, r, 200, "requests", c, d)
	return nil
}

// requestsCSV streams the list's rows, every one of them, in the audit
// export's columns: the store's export read (large batches, only the
// exported columns) through audit.RequestCSV.
func (s *Server) requestsCSV(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	f, _, err := s.parseFilter(r.Context(), r.URL.Query())
	if err != nil {
		return err
	}
	if err := c.Narrow(&f); err != nil {
		return err
	}
	f.Limit = 0 // every row
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="drawbridge-requests.csv"`)
	cw := audit.NewRequestCSV(w)
	if err := s.Store.ExportRequests(r.Context(), f, cw.Write); err != nil {
		if !cw.Started() {
			// Nothing was sent: still an error page, not a truncated file.
			w.Header().Del("Content-Disposition")
			w.Header().Del("Content-Type")
			return err
		}
		if cw.Flush() != nil {
			return nil // the client went away
		}
		s.Logger.Error("dashboard CSV failed mid-stream", "error", err)
		panic(nethttp.ErrAbortHandler)
	}
	_ = cw.Flush() // an error here is the client going away
	return nil
}

// load returns the request in the path when c may see it; one c may not
// see is "not found", so its existence is not revealed.
func (s *Server) load(r *nethttp.Request, c drawbridge.Caller) (*drawbridge.Request, error) {
	id := r.PathValue("id")
	if !drawbridge.ValidRequestID(id) {
		return nil, drawbridge.Errorf(drawbridge.ENOTFOUND, "request %s not found", id)
	}
	req, err := s.Broker.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if !c.CanSee(req) {
		return nil, drawbridge.Errorf(drawbridge.ENOTFOUND, "request %s not found", id)
	}
	return req, nil
}

// event is one line of a request's timeline.
type event struct {
	drawbridge.AuditEvent
	Channel, Auth string
	Other         []kv
}

type kv struct{ K, V string }

type detailData struct {
	R       *drawbridge.Request
	Events  []event
	Actions actions
	// Chain is how the row compares with the state its events recorded:
	// a mismatch is flagged on the page.
	Chain drawbridge.RowCheck
}

func (s *Server) detail(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	req, err := s.load(r, c)
	if err != nil {
		return err
	}
	check, evs, err := drawbridge.CheckStored(r.Context(), s.Store, req)
	if drawbridge.IsStale(err) {
		// Written meanwhile: read it once more.
		if req, err = s.load(r, c); err != nil {
			return err
		}
		check, evs, err = drawbridge.CheckStored(r.Context(), s.Store, req)
	}
	if err != nil {
		return err
	}
	d := detailData{R: req, Actions: allowed(c, req), Chain: check}
	for _, e := range evs {
		x := event{AuditEvent: e, Channel: e.Details["channel"], Auth: e.Details["auth"]}
		for _, k := range sortedKeys(e.Details) {
			// The recorded state is for verification, not reading: the
			// facts above show it, and the banner any disagreement.
			if k != "channel" && k != "auth" && k != drawbridge.DetailRequestState && k != drawbridge.DetailRequestDigest {
				x.Other = append(x.Other, kv{k, e.Details[k]})
			}
		}
		d.Events = append(d.Events, x)
	}
	s.render(w, r, 200, "detail", c, d)
	return nil
}

// newData is the request form, and once previewed what policy would say.
type newData struct {
	Text, Reason string
	Usage        string
	Preview      *preview
	Error        string
}

type preview struct {
	Entitlement drawbridge.Entitlement
	Duration    string
	Ticket      string
	Outcome     string
	Steps       []policy.Step
}

func (s *Server) newForm(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	s.render(w, r, 200, "new", c, newData{Usage: grammar.Usage})
	return nil
}

// submit previews (policy's explanation, nothing recorded) or, once the
// person confirmed, submits the request through the broker.
func (s *Server) submit(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	d := newData{Text: r.PostFormValue("request"), Reason: r.PostFormValue("reason"), Usage: grammar.Usage}
	req, err := grammar.ParseText(d.Text)
	if err == nil && req.Reason != "" && d.Reason != "" {
		err = drawbridge.Errorf(drawbridge.EINVALID, "give the reason once: in the reason field or as --reason, not both")
	}
	if err != nil {
		d.Error = drawbridge.ErrorMessage(err)
		s.render(w, r, nethttp.StatusBadRequest, "new", c, d)
		return nil
	}
	if d.Reason == "" {
		d.Reason = req.Reason
	}
	if r.PostFormValue("action") != "submit" {
		p, err := s.explain(r.Context(), c, req, d.Reason)
		if err != nil {
			d.Error = drawbridge.ErrorMessage(err)
			s.render(w, r, drawbridge.HTTPStatus(drawbridge.ErrorCode(err)), "new", c, d)
			return nil
		}
		d.Preview = p
		s.render(w, r, 200, "new", c, d)
		return nil
	}
	got, err := s.Broker.Submit(r.Context(), broker.SubmitInput{Requester: c.Principal, Entitlement: req.Entitlement(),
		Duration: req.Duration, Reason: d.Reason, Ticket: req.Ticket}, c)
	if err != nil {
		d.Error = drawbridge.ErrorMessage(err)
		s.render(w, r, drawbridge.HTTPStatus(drawbridge.ErrorCode(err)), "new", c, d)
		return nil
	}
	done(w, r, "/dashboard/requests/"+got.ID, "submitted")
	return nil
}

// explain says what policy would decide for req, as the CLI's policy
// explain does, in a sentence: "this will need 1 approval from
// group:sre-leads (rule prod-admin)".
func (s *Server) explain(ctx context.Context, c drawbridge.Caller, req grammar.Request, reason string) (*preview, error) {
	pol := s.Broker.Policy()
	if pol == nil {
		return nil, drawbridge.Errorf(drawbridge.EUNAVAILABLE, "no policy is loaded: requests cannot be decided now")
	}
	e, err := s.Broker.Catalog.Resolve(req.Entitlement())
	if err != nil {
		return nil, err
	}
	if !c.InScope(e) {
		return nil, drawbridge.Errorf(drawbridge.EFORBIDDEN, "%s is not in your scope", e)
	}
	who, err := s.Broker.Directory.Resolve(ctx, c.Principal)
	if err != nil {
		return nil, err
	}
	ous, tags := s.Broker.Catalog.ResourceAttrs(e)
	ex := pol.Explain(&policy.Input{Requester: who, Entitlement: e, Duration: req.Duration, Reason: reason,
		Ticket: req.Ticket, Now: s.Clock.Now(), OUs: ous, Tags: tags})
	p := &preview{Entitlement: e, Duration: duration.Format(req.Duration), Ticket: req.Ticket, Steps: ex.Steps}
	dec := ex.Decision
	switch dec.Effect {
	case drawbridge.EffectAllow:
		p.Outcome = fmt.Sprintf("This will be granted without approval (rule %s).", dec.Rule)
	case drawbridge.EffectRequireApproval:
		approvers := "an approver"
		if rule, ok := pol.Rule(dec.Rule); ok && len(rule.Approvers) > 0 {
			approvers = strings.Join(rule.Approvers, ", ")
		}
		n := "one approval"
		if dec.ApprovalsRequired > 1 {
			n = fmt.Sprintf("%d approvals", dec.ApprovalsRequired)
		}
		p.Outcome = fmt.Sprintf("This will need %s from %s (rule %s).", n, approvers, dec.Rule)
	default:
		p.Outcome = "This would be denied"
		if dec.Rule != "" {
			p.Outcome += " by rule " + dec.Rule
		}
		if dec.Reason != "" {
			p.Outcome += ": " + dec.Reason
		}
		p.Outcome += "."
	}
	return p, nil
}

type mineData struct {
	Rows []row
	Next string
}

func (s *Server) mine(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	f := drawbridge.RequestFilter{Requester: c.Principal, Limit: pageSize}
	if v := r.URL.Query().Get("cursor"); v != "" {
		if !drawbridge.ValidRequestID(v) {
			return drawbridge.Errorf(drawbridge.EINVALID, "cursor %q is not valid: use the page links", v)
		}
		f.Cursor = v
	}
	if err := c.Narrow(&f); err != nil {
		return err
	}
	f.Requester = c.Principal
	page, err := s.Store.ListRequests(r.Context(), f)
	if err != nil {
		return err
	}
	d := mineData{Rows: rows(c, page)}
	if len(page) == f.Limit {
		d.Next = "/dashboard/mine?cursor=" + url.QueryEscape(page[len(page)-1].ID)
	}
	s.render(w, r, 200, "mine", c, d)
	return nil
}

func (s *Server) inbox(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	f := drawbridge.RequestFilter{States: []drawbridge.State{drawbridge.StatePendingApproval}, Limit: drawbridge.MaxListLimit}
	if err := c.Narrow(&f); err != nil {
		return err
	}
	page, err := s.Store.ListRequests(r.Context(), f)
	if err != nil {
		return err
	}
	s.render(w, r, 200, "inbox", c, mineData{Rows: rows(c, page)})
	return nil
}

// approvePage is the page Slack links to for rules whose approvals must
// not be given in Slack: it asks for a fresh sign-in before showing the
// form, and approve asks again before the approval counts.
func (s *Server) approvePage(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	req, err := s.load(r, c)
	if err != nil {
		return err
	}
	if _, fresh := s.Auth.RequireFreshLogin(w, r); !fresh {
		return nil
	}
	s.render(w, r, 200, "approve", c, detailData{R: req, Actions: allowed(c, req)})
	return nil
}

func (s *Server) approve(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	req, err := s.load(r, c)
	if err != nil {
		return err
	}
	// The caller of the fresh sign-in approves: the same person, with
	// the roles they hold now.
	fresh, ok := s.Auth.RequireFreshLogin(w, r)
	if !ok {
		return nil
	}
	if fresh.Principal != c.Principal {
		return drawbridge.Errorf(drawbridge.EFORBIDDEN, "you signed in again as %s, not %s: approve from that session", fresh.Principal, c.Principal)
	}
	fresh.Channel = drawbridge.ChannelWeb
	if !fresh.Can(drawbridge.PermReview) {
		return drawbridge.Errorf(drawbridge.EFORBIDDEN, "your roles (%s) no longer allow approving", drawbridge.JoinRoles(fresh.Roles))
	}
	if _, err := s.Broker.Approve(r.Context(), req.ID, fresh.Principal, r.PostFormValue("comment"), fresh); err != nil {
		return err
	}
	done(w, r, "/dashboard/requests/"+req.ID, "approved")
	return nil
}

func (s *Server) deny(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	req, err := s.load(r, c)
	if err != nil {
		return err
	}
	if _, err := s.Broker.Deny(r.Context(), req.ID, c.Principal, r.PostFormValue("comment"), c); err != nil {
		return err
	}
	done(w, r, "/dashboard/requests/"+req.ID, "denied")
	return nil
}

func (s *Server) cancel(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	req, err := s.load(r, c)
	if err != nil {
		return err
	}
	if _, err := s.Broker.Cancel(r.Context(), req.ID, c); err != nil {
		return err
	}
	done(w, r, "/dashboard/requests/"+req.ID, "cancelled")
	return nil
}

func (s *Server) revoke(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	req, err := s.load(r, c)
	if err != nil {
		return err
	}
	if _, err := s.Broker.Revoke(r.Context(), req.ID, r.PostFormValue("reason"), c); err != nil {
		return err
	}
	done(w, r, "/dashboard/requests/"+req.ID, "revoked")
	return nil
}

func (s *Server) extend(w nethttp.ResponseWriter, r *nethttp.Request, c drawbridge.Caller) error {
	req, err := s.load(r, c)
	if err != nil {
		return err
	}
	d, err := duration.ParseHours(strings.TrimSpace(r.PostFormValue("hours")))
	if err != nil {
		return drawbridge.Errorf(drawbridge.EINVALID, "hours: %v", err)
	}
	x, err := s.Broker.Extend(r.Context(), req.ID, d, r.PostFormValue("reason"), r.PostFormValue("ticket"), c)
	if err != nil {
		return err
	}
	done(w, r, "/dashboard/requests/"+x.ID, "extended")
	return nil
}
