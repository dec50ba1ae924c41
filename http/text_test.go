package http_test

import (
	"strings"
	"testing"
)

// TestAPIRefusesControlCharacters: the broker's text rule reaches the API
// as a 400 naming the field, whichever JSON escape carried the character.
func TestAPIRefusesControlCharacters(t *testing.T) {
	e := newEnv(t)
	for field, body := range map[string]string{
		"reason": `{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h","reason":"x\u001b[2J\nstate: ACTIVE"}`,
		"ticket": `{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h","ticket":"INC-1\u202e"}`,
	} {
		resp, b := e.do("requester", "POST", "/v1/requests", body)
		if resp.StatusCode != 400 || !strings.Contains(string(b), field) || !strings.Contains(string(b), "U+") {
			t.Errorf("%s: status %d %s, want 400 naming %s and the character", field, resp.StatusCode, b, field)
		}
	}
	pending := e.pending()
	resp, b := e.do("approver", "POST", "/v1/requests/"+pending.ID+"/deny", `{"comment":"no\u0007"}`)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "comment") {
		t.Errorf("deny comment: status %d %s, want 400 naming comment", resp.StatusCode, b)
	}
}
