package http

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

// Every query parameter is validated before it reaches the store, so a bad
// value is a 400 that says what is accepted, never a 500, and the store
// only ever sees values of the expected shape (as bound parameters).
var (
	permissionSetName = regexp.MustCompile(`^[\w+=,.@-]{1,32}$`)
	slackUserID       = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	accountID         = regexp.MustCompile(`^[0-9]{12}$`)
	providerName      = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
)

const (
	defaultLimit = 100
	maxLimit     = 500
)

// primaryFilters are the filters /api/requests and /api/exports.csv need
// one of, so that an audit query is always selective.
var primaryFilters = []string{"status", "provider", "resource", "account_id", "role", "permission_set_name", "requester", "requester_slack_user_id"}

// listParams are the accepted query parameters of the list endpoints.
var listParams = map[string]bool{
	"status": true, "state": true, "provider": true, "resource": true, "account_id": true, "role": true,
	"permission_set_name": true, "requester": true, "requester_slack_user_id": true,
	"from": true, "to": true, "limit": true, "cursor": true,
}

// parseFilter reads the list query parameters into a filter (scope not
// applied yet). It reports which primary filters were given.
func (s *Server) parseFilter(ctx context.Context, q url.Values) (drawbridge.RequestFilter, []string, error) {
	var f drawbridge.RequestFilter
	var primary []string
	for k, v := range q {
		if !listParams[k] {
			return f, nil, drawbridge.Errorf(drawbridge.EINVALID, "unknown query parameter %q (accepted: status, provider, resource, account_id, role, permission_set_name, requester, requester_slack_user_id, from, to, limit, cursor)", k)
		}
		if len(v) > 1 {
			return f, nil, drawbridge.Errorf(drawbridge.EINVALID, "query parameter %q is given %d times: give it once (status takes a comma-separated list)", k, len(v))
		}
	}
	status := q.Get("status")
	if status == "" {
		status = q.Get("state")
	}
	if status != "" {
		for _, x := range strings.Split(status, ",") {
			st, err := drawbridge.ParseState(strings.ToUpper(strings.TrimSpace(x)))
			if err != nil {
				return f, nil, drawbridge.Errorf(drawbridge.EINVALID, "status: %s", drawbridge.ErrorMessage(err))
			}
			f.States = append(f.States, st)
		}
		primary = append(primary, "status")
	}
	if v := q.Get("provider"); v != "" {
		if !providerName.MatchString(v) {
			return f, nil, drawbridge.Errorf(drawbridge.EINVALID, "provider %q is malformed: a configured provider name (lower-case letters, digits, - and _), e.g. aws", v)
		}
		f.Provider = v
		primary = append(primary, "provider")
	}
	// resource and role are the names of every provider; account_id and
	// permission_set_name, AWS's names for them, stay accepted as aliases.
	for _, p := range []struct {
		name, alias string
		dst         *string
		aliasOK     func(string) error
	}{
		{"resource", "account_id", &f.Resource, func(v string) error {
			if !accountID.MatchString(v) {
				return drawbridge.Errorf(drawbridge.EINVALID, "account_id %q is malformed: it must be 12 digits, e.g. 123456789012", v)
			}
			return nil
		}},
		{"role", "permission_set_name", &f.Role, func(v string) error {
			if !permissionSetName.MatchString(v) {
				return drawbridge.Errorf(drawbridge.EINVALID, "permission_set_name %q is malformed: 1 to 32 letters, digits or +=,.@_-", v)
			}
			return nil
		}},
	} {
		v, av := q.Get(p.name), q.Get(p.alias)
		if v != "" {
			if err := drawbridge.CheckID(p.name, v); err != nil {
				return f, nil, err
			}
			primary = append(primary, p.name)
		}
		if av != "" {
			if err := p.aliasOK(av); err != nil {
				return f, nil, err
			}
			if v != "" && v != av {
				return f, nil, drawbridge.Errorf(drawbridge.EINVALID, "%s and %s disagree: give one (%s is the AWS name for %s)", p.alias, p.name, p.alias, p.name)
			}
			v = av
			primary = append(primary, p.alias)
		}
		*p.dst = v
	}
	if v := q.Get("requester"); v != "" {
		if len(v) > 320 || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' }) {
			return f, nil, drawbridge.Errorf(drawbridge.EINVALID, "requester is malformed: give an email or a Slack user id")
		}
		id, err := s.principalID(ctx, v)
		if err != nil {
			return f, nil, err
		}
		f.Requester = id
		primary = append(primary, "requester")
	}
	if v := q.Get("requester_slack_user_id"); v != "" {
		if !slackUserID.MatchString(v) {
			return f, nil, drawbridge.Errorf(drawbridge.EINVALID, "requester_slack_user_id %q is malformed: Slack user ids look like U12345678", v)
		}
		if f.Requester != "" {
			return f, nil, drawbridge.Errorf(drawbridge.EINVALID, "give requester or requester_slack_user_id, not both")
		}
		id, err := s.principalID(ctx, v)
		if err != nil {
			return f, nil, err
		}
		f.Requester = id
		primary = append(primary, "requester_slack_user_id")
	}
	var err error
	if f.CreatedFrom, err = parseTime("from", q.Get("from")); err != nil {
		return f, nil, err
	}
	if f.CreatedTo, err = parseTime("to", q.Get("to")); err != nil {
		return f, nil, err
	}
	if !f.CreatedFrom.IsZero() && !f.CreatedTo.IsZero() && !f.CreatedFrom.Before(f.CreatedTo) {
		return f, nil, drawbridge.Errorf(drawbridge.EINVALID, "from must be before to")
	}
	f.Limit = defaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return f, nil, drawbridge.Errorf(drawbridge.EINVALID, "limit %q must be a whole number from 1 to %d", v, maxLimit)
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		if !drawbridge.ValidRequestID(v) {
			return f, nil, drawbridge.Errorf(drawbridge.EINVALID, "cursor %q is not valid: pass the next_cursor of the previous page", v)
		}
		f.Cursor = v
	}
	return f, primary, nil
}

// principalID is the canonical id of who, as the store records requesters.
// A person the directory does not know keeps a form that matches nobody,
// so filtering on them finds nothing rather than failing.
func (s *Server) principalID(ctx context.Context, who string) (string, error) {
	if s.Broker != nil && s.Broker.Directory != nil {
		p, err := s.Broker.Directory.Resolve(ctx, who)
		if err == nil {
			return p.ID, nil
		}
		if !drawbridge.IsUnknownPerson(err) {
			return "", err
		}
	}
	if strings.Contains(who, "@") {
		return drawbridge.CanonicalPrincipalID(who), nil
	}
	return "slack:" + who, nil
}

func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			if t.Year() < 1900 || t.Year() > 2200 {
				break
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, drawbridge.Errorf(drawbridge.EINVALID, "%s %q must be an RFC 3339 time (2026-01-02T15:04:05Z) or a date (2026-01-02) between 1900 and 2200", name, v)
}
