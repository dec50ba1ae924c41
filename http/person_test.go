package http_test

import (
	"strings"
	"testing"
)

// Naming a person who does not exist is the caller's mistake (400), and
// the answer names nobody else in the directory.
func TestUnknownPersonIs400AndListsNobody(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ path, body string }{
		{"/v1/requests", `{"requester":"mallory@example.com","account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h"}`},
		{"/v1/requests/" + e.pending().ID + "/approve", `{"approver":"mallory@example.com"}`},
	} {
		resp, b := e.do("admin", "POST", tc.path, tc.body)
		if resp.StatusCode != 400 || !strings.Contains(string(b), `unknown person \"mallory@example.com\"`) {
			t.Errorf("POST %s naming nobody: %d %s, want 400 naming mallory", tc.path, resp.StatusCode, b)
		}
		for _, other := range []string{"alice@", "bob@", "carol@", "dave@"} {
			if strings.Contains(string(b), other) {
				t.Errorf("POST %s: the answer lists %s: %s", tc.path, other, b)
			}
		}
	}
}
