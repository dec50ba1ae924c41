package http_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	dbhttp "github.com/drawbridge-jit/drawbridge/http"
)

// The body names an entitlement as provider/resource/role, the AWS names
// kept as aliases; the resource may be a catalog alias. The token's scope
// is checked against what would be granted (the account the alias names),
// never against the alias as typed.
func TestCreateRequestNamesAndScope(t *testing.T) {
	e := newEnv(t)
	e.token("scoped-by-id", "alice@example.com", []drawbridge.Role{drawbridge.RoleRequester}, []string{"123456789012"}, []string{"ReadOnlyAccess"})
	e.token("scoped-by-alias", "alice@example.com", []drawbridge.Role{drawbridge.RoleRequester}, []string{"staging"}, []string{"ReadOnlyAccess"})
	for _, tc := range []struct {
		name, token, body string
		status            int
		want              string
	}{
		{"alias in scope", "scoped-by-id", `{"resource":"staging","role":"ReadOnlyAccess","duration":"1h"}`, 201, "123456789012"},
		{"provider:alias", "scoped-by-id", `{"provider":"aws","resource":"staging","role":"ReadOnlyAccess","duration":"1h"}`, 201, "123456789012"},
		{"aws names", "requester", `{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h"}`, 201, `"provider":"aws"`},
		{"both forms agree", "requester", `{"account_id":"123456789012","resource":"123456789012","role":"ReadOnlyAccess","permission_set":"ReadOnlyAccess","duration":"1h"}`, 201, "123456789012"},
		{"scope is the account, not the alias", "scoped-by-alias", `{"resource":"staging","role":"ReadOnlyAccess","duration":"1h"}`, 403, "aws:123456789012/ReadOnlyAccess is not in the scope"},
		{"conflicting resource", "requester", `{"account_id":"123456789012","resource":"111122223333","role":"ReadOnlyAccess","duration":"1h"}`, 400, "account_id and resource disagree"},
		{"conflicting role", "requester", `{"resource":"123456789012","permission_set":"AdministratorAccess","role":"ReadOnlyAccess","duration":"1h"}`, 400, "permission_set and role disagree"},
		{"missing resource", "requester", `{"role":"ReadOnlyAccess","duration":"1h"}`, 400, "resource (or account_id)"},
		{"unknown alias", "requester", `{"resource":"nosuch","role":"ReadOnlyAccess","duration":"1h"}`, 400, `unknown resource \"nosuch\"`},
		{"unknown provider", "requester", `{"provider":"entra","resource":"x","role":"member","duration":"1h"}`, 400, `unknown provider \"entra\"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(tc.token, "POST", "/v1/requests", tc.body, "Content-Type", "application/json")
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
				t.Fatalf("%d %s; want %d containing %s", resp.StatusCode, body, tc.status, tc.want)
			}
			if tc.status == 201 {
				var r drawbridge.Request
				if err := json.Unmarshal(body, &r); err != nil || r.Provider != "aws" || r.Resource != "123456789012" {
					t.Fatalf("stored entitlement %+v (%v)", r.Entitlement, err)
				}
			}
		})
	}
}

// The audit API filters by provider, resource and role beside AWS's
// account_id and permission_set_name; CSV keeps its columns, a non-AWS
// row carrying its resource and role in account_id and
// permission_set_name with its provider named.
func TestAuditFiltersByProvider(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("requester", "POST", "/v1/requests", `{"provider":"hooks","resource":"payroll","role":"reader","duration":"1h"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("hooks request: %d %s", resp.StatusCode, body)
	}
	var hooks drawbridge.Request
	if err := json.Unmarshal(body, &hooks); err != nil || hooks.Entitlement != (drawbridge.Entitlement{Provider: "hooks", Resource: "payroll-db", Role: "reader"}) || hooks.State != drawbridge.StateActive {
		t.Fatalf("hooks request stored as %+v %s (%v)", hooks.Entitlement, hooks.State, err)
	}
	aws := e.active()
	ids := func(q string) string {
		t.Helper()
		resp, body := e.do("auditor", "GET", "/api/requests?"+q, "")
		if resp.StatusCode != 200 {
			return fmt.Sprintf("%d %s", resp.StatusCode, body)
		}
		var l dbhttp.RequestList
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range l.Requests {
			out = append(out, r.ID)
		}
		return strings.Join(out, ",")
	}
	for q, want := range map[string]string{
		"provider=hooks": hooks.ID, "provider=aws": aws.ID, "resource=payroll-db": hooks.ID, "role=reader": hooks.ID,
		"account_id=123456789012": aws.ID, "resource=123456789012": aws.ID, "permission_set_name=ReadOnlyAccess": aws.ID,
		"role=ReadOnlyAccess&permission_set_name=ReadOnlyAccess": aws.ID, "provider=hooks&role=ReadOnlyAccess": "",
		"provider=nosuch": "",
	} {
		if got := ids(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	for q, want := range map[string]string{
		"resource=123456789012&account_id=111122223333":  "account_id and resource disagree",
		"role=reader&permission_set_name=ReadOnlyAccess": "permission_set_name and role disagree",
		"provider=AWS":       `provider \"AWS\" is malformed`,
		"resource=a%20b":     "resource: character 2 is U+0020",
		"account_id=payroll": `account_id \"payroll\" is malformed`,
	} {
		if got := ids(q); !strings.HasPrefix(got, "400 ") || !strings.Contains(got, want) {
			t.Errorf("%s: %s, want 400 naming %q", q, got, want)
		}
	}

	resp, body = e.do("auditor", "GET", "/api/exports.csv?provider=hooks", "")
	if resp.StatusCode != 200 {
		t.Fatalf("export: %d %s", resp.StatusCode, body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	const header = "id,state,requester,provider,account_id,permission_set_name,duration_seconds,reason,ticket,channel,rule,policy_sha256,decision_reason,approvers,created_at,decided_at,activated_at,expires_at,ended_at,end_reason,last_error"
	if got := strings.Join(rows[0], ","); got != header {
		t.Errorf("CSV header changed:\n%s\nwant\n%s", got, header)
	}
	if len(rows) != 2 || rows[1][0] != hooks.ID || rows[1][3] != "hooks" || rows[1][4] != "payroll-db" || rows[1][5] != "reader" {
		t.Errorf("CSV rows %q", rows)
	}
}
