package http_test

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
)

// TestProviderScopedAuditorSeesOnlyItsProvider: a token scoped to the
// provider instance "hooks" sees the hooks requests and nothing of AWS, in
// every place that reads requests: the /v1 and /api lists (paged), a
// single request, the CSV export and the /api/metrics figures.
func TestProviderScopedAuditorSeesOnlyItsProvider(t *testing.T) {
	e := newEnv(t)
	in := []*drawbridge.Request{e.hooks("alice@example.com"), e.hooks("bob@example.com")}
	out := []*drawbridge.Request{e.active(), e.pending(), e.submit("bob@example.com", "111122223333", "ReadOnlyAccess", "")}
	inIDs := map[string]bool{}
	for _, r := range in {
		inIDs[r.ID] = true
	}
	for _, path := range []string{"/v1/requests", "/api/requests?status=ACTIVE,PENDING_APPROVAL", "/api/requests?requester=alice@example.com"} {
		seen, cursor := 0, ""
		for i := 0; i < 10; i++ {
			p := path
			if cursor != "" {
				p += map[bool]string{true: "&", false: "?"}[strings.Contains(p, "?")] + "cursor=" + cursor
			}
			p += map[bool]string{true: "&", false: "?"}[strings.Contains(p, "?")] + "limit=1"
			resp, b := e.do("hooks-auditor", "GET", p, "")
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d %s", p, resp.StatusCode, b)
			}
			l := decodeList(t, b)
			for _, r := range l.Requests {
				if !inIDs[r.ID] {
					t.Errorf("GET %s: saw %s (%s)", p, r.ID, r.Entitlement)
				}
				seen++
			}
			if cursor = l.NextCursor; cursor == "" {
				break
			}
		}
		if want := len(in); path == "/api/requests?requester=alice@example.com" && seen != 1 || path != "/api/requests?requester=alice@example.com" && seen != want {
			t.Errorf("GET %s: saw %d in-scope requests", path, seen)
		}
	}
	for _, r := range in {
		for _, p := range []string{"/api/requests/" + r.ID, "/v1/requests/" + r.ID} {
			if resp, b := e.do("hooks-auditor", "GET", p, ""); resp.StatusCode != 200 {
				t.Errorf("GET %s (in scope): %d %s", p, resp.StatusCode, b)
			}
		}
	}
	for _, r := range out {
		for _, p := range []string{"/api/requests/" + r.ID, "/v1/requests/" + r.ID} {
			if resp, b := e.do("hooks-auditor", "GET", p, ""); resp.StatusCode != 404 {
				t.Errorf("GET %s (AWS, out of scope): %d %s", p, resp.StatusCode, b)
			}
		}
	}
	_, b := e.do("hooks-auditor", "GET", "/api/exports.csv?status=ACTIVE,PENDING_APPROVAL,DENIED", "")
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(in) {
		t.Errorf("CSV has %d rows, want header + %d:\n%s", len(rows), len(in), b)
	}
	for _, row := range rows[1:] {
		if !inIDs[row[0]] || row[3] != "hooks" {
			t.Errorf("CSV row out of scope: %v", row)
		}
	}
	var m dbhttp.AuditMetrics
	_, b = e.do("hooks-auditor", "GET", "/api/metrics", "")
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Total != len(in) || m.ByState["ACTIVE"] != len(in) || m.ByState["PENDING_APPROVAL"] != 0 {
		t.Errorf("hooks metrics: total %d, by state %v", m.Total, m.ByState)
	}
	// The AWS-scoped auditor sees none of the hooks requests.
	for _, r := range in {
		if resp, _ := e.do("scoped-auditor", "GET", "/api/requests/"+r.ID, ""); resp.StatusCode != 404 {
			t.Errorf("AWS-scoped auditor sees hooks request %s: %d", r.ID, resp.StatusCode)
		}
	}
}

// TestProviderScopedRequesterCannotAskElsewhere: a requester token scoped
// to hooks may ask for hooks entitlements only; the broker refuses the
// rest whatever channel the caller came through.
func TestProviderScopedRequesterCannotAskElsewhere(t *testing.T) {
	e := newEnv(t)
	e.scopedToken("hooks-requester", "alice@example.com", []drawbridge.Role{drawbridge.RoleRequester}, drawbridge.Scope{Providers: []string{"hooks"}})
	if resp, b := e.do("hooks-requester", "POST", "/v1/requests", `{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h"}`); resp.StatusCode != 403 {
		t.Errorf("AWS request from a hooks-scoped token: %d %s", resp.StatusCode, b)
	}
	resp, b := e.do("hooks-requester", "POST", "/v1/requests", `{"provider":"hooks","resource":"payroll-db","role":"reader","duration":"1h"}`)
	var r drawbridge.Request
	if err := json.Unmarshal(b, &r); err != nil || resp.StatusCode != 201 || r.State != drawbridge.StateActive || r.Provider != "hooks" {
		t.Errorf("hooks request: %d %s", resp.StatusCode, b)
	}
}
