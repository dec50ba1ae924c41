package http_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStrictJSONBodies sends each known ambiguity to the JSON routes: a
// body two parsers could read differently (trailing data, duplicate keys,
// keys that match the schema only by case) is refused, a non-JSON content
// type is 415, and errors speak the API's terms, never Go's.
func TestStrictJSONBodies(t *testing.T) {
	e := newEnv(t)
	pending := e.pending()
	valid := `{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h","reason":"debug"}`
	for _, tc := range []struct {
		name, path, body, ctype string
		status                  int
		want                    string // substring of the error message
	}{
		{"trailing garbage", "/v1/requests", valid + "garbage", "application/json", 400, "unexpected data after the JSON object"},
		{"second object", "/v1/requests", valid + `{"x":1}`, "application/json", 400, "unexpected data after the JSON object"},
		{"duplicate key", "/v1/requests", `{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h","reason":"a","reason":"b"}`, "application/json", 400, `duplicate key "reason"`},
		{"duplicate key on review", "/v1/requests/" + pending.ID + "/deny", `{"comment":"a","comment":"b"}`, "application/json", 400, `duplicate key "comment"`},
		{"key differs by case", "/v1/requests", `{"Account_ID":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h"}`, "application/json", 400, `unknown field "Account_ID"`},
		{"key differs by case on extend", "/v1/requests/" + pending.ID + "/extend", `{"DURATION":"1h"}`, "application/json", 400, `unknown field "DURATION"`},
		{"unknown field", "/v1/requests", `{"acount_id":"123456789012"}`, "application/json", 400, `unknown field "acount_id"`},
		{"number for a string", "/v1/requests", `{"account_id":123456789012,"permission_set":"ReadOnlyAccess","duration":"1h"}`, "application/json", 400, "account_id must be a string of 12 digits"},
		{"string for a number", "/v1/requests", `{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration_seconds":"3600"}`, "application/json", 400, "duration_seconds must be a whole number of seconds"},
		{"fraction for a number", "/v1/requests", `{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration_seconds":1.5}`, "application/json", 400, "duration_seconds must be a whole number of seconds"},
		{"not an object", "/v1/requests", `["account_id"]`, "application/json", 400, "the body must be a JSON object"},
		{"syntax error", "/v1/requests", `{"account_id":`, "application/json", 400, "the body is not valid JSON"},
		{"invalid UTF-8", "/v1/requests", "{\"reason\":\"\xff\"}", "application/json", 400, "the body is not valid UTF-8"},
		{"text/plain", "/v1/requests", valid, "text/plain", 415, "Content-Type must be application/json"},
		{"form", "/v1/requests/" + pending.ID + "/deny", "comment=x", "application/x-www-form-urlencoded", 415, "Content-Type must be application/json"},
		{"no content type", "/v1/requests", valid, "", 415, "Content-Type must be application/json"},
		{"json with a foreign charset", "/v1/requests", valid, "application/json; charset=latin1", 415, "charset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{"Content-Type", tc.ctype}
			if tc.ctype == "" {
				hdr = []string{"Content-Type", ""}
			}
			role := "requester"
			if strings.HasSuffix(tc.path, "/deny") {
				role = "approver"
			}
			resp, b := e.do(role, "POST", tc.path, tc.body, hdr...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			var eb struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(b, &eb); err != nil {
				t.Fatalf("error body %q: %v", b, err)
			}
			if !strings.Contains(eb.Error.Message, tc.want) {
				t.Fatalf("message %q does not say %q", eb.Error.Message, tc.want)
			}
			for _, leak := range []string{"Go struct", "CreateRequest", "ReviewRequest", "ExtendRequest", "int64", "unmarshal"} {
				if strings.Contains(eb.Error.Message, leak) {
					t.Fatalf("message %q exposes Go internals (%s)", eb.Error.Message, leak)
				}
			}
		})
	}
	// The accepted forms still work: charset=utf-8, and no body at all on
	// a route whose body is optional.
	if resp, b := e.do("requester", "POST", "/v1/requests", valid, "Content-Type", "application/json; charset=UTF-8"); resp.StatusCode != 201 {
		t.Fatalf("charset=UTF-8: status %d: %s", resp.StatusCode, b)
	}
	if resp, b := e.do("approver", "POST", "/v1/requests/"+pending.ID+"/deny", ""); resp.StatusCode != 200 {
		t.Fatalf("empty body: status %d: %s", resp.StatusCode, b)
	}
}

// TestOversizedBodyIs413 sends a body one byte over the default limit: it
// is refused with 413 and a JSON error naming the limit, not read whole
// and not reported as malformed JSON.
func TestOversizedBodyIs413(t *testing.T) {
	e := newEnv(t)
	body := `{"reason":"` + strings.Repeat("a", 64<<10) + `"}`
	resp, b := e.do("requester", "POST", "/v1/requests", body)
	if resp.StatusCode != 413 {
		t.Fatalf("status %d, want 413: %.200s", resp.StatusCode, b)
	}
	var eb struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Code != "too_large" || !strings.Contains(eb.Error.Message, "65536 bytes") {
		t.Fatalf("error body %s (%v): want code too_large naming the 65536-byte limit", b, err)
	}
}
