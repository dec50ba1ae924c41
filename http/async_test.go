package http_test

import (
	"encoding/json"
	nethttp "net/http"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
)

// Prefer: respond-async (RFC 7240) records the decision and answers 202 at
// once with where to look (Location) and Preference-Applied; the expiry
// engine provisions. Without the header the answer is as before. A
// decision that leaves nothing to do in the background (pending, denied)
// answers as usual, without Preference-Applied.
func TestPreferRespondAsync(t *testing.T) {
	e := newEnv(t)
	body := `{"account_id":"123456789012","permission_set":"ReadOnlyAccess","duration":"1h"}`
	for _, prefer := range []string{"respond-async", "Respond-Async, wait=5", "return=minimal; x=1,respond-async"} {
		resp, b := e.do("requester", "POST", "/v1/requests", body, "Prefer", prefer)
		if resp.StatusCode != nethttp.StatusAccepted {
			t.Fatalf("Prefer %q: status %d, want 202: %s", prefer, resp.StatusCode, b)
		}
		var r drawbridge.Request
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if r.State != drawbridge.StateApproved {
			t.Errorf("Prefer %q: state %s, want APPROVED (provisioning left to the engine)", prefer, r.State)
		}
		if got, want := resp.Header.Get("Location"), "/v1/requests/"+r.ID; got != want {
			t.Errorf("Location %q, want %q", got, want)
		}
		if got := resp.Header.Get("Preference-Applied"); got != "respond-async" {
			t.Errorf("Preference-Applied %q, want respond-async", got)
		}
		stored, err := e.db.GetRequest(t.Context(), r.ID)
		if err != nil || stored.State != drawbridge.StateApproved {
			t.Errorf("stored %v, %v: want APPROVED", stored, err)
		}
	}

	resp, b := e.do("requester", "POST", "/v1/requests", body)
	if resp.StatusCode != nethttp.StatusCreated || resp.Header.Get("Preference-Applied") != "" {
		t.Fatalf("without Prefer: status %d, Preference-Applied %q: %s", resp.StatusCode, resp.Header.Get("Preference-Applied"), b)
	}

	// Pending: nothing runs in the background, so the usual 201.
	resp, b = e.do("requester", "POST", "/v1/requests",
		`{"account_id":"111122223333","permission_set":"AdministratorAccess","duration":"1h","ticket":"INC-1"}`, "Prefer", "respond-async")
	if resp.StatusCode != nethttp.StatusCreated || resp.Header.Get("Preference-Applied") != "" {
		t.Fatalf("pending with Prefer: status %d, Preference-Applied %q: %s", resp.StatusCode, resp.Header.Get("Preference-Applied"), b)
	}
	var p drawbridge.Request
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	resp, b = e.do("approver", "POST", "/v1/requests/"+p.ID+"/approve", "", "Prefer", "respond-async")
	if resp.StatusCode != nethttp.StatusAccepted || resp.Header.Get("Location") != "/v1/requests/"+p.ID ||
		resp.Header.Get("Preference-Applied") != "respond-async" {
		t.Fatalf("approve with Prefer: status %d, Location %q, Preference-Applied %q: %s", resp.StatusCode,
			resp.Header.Get("Location"), resp.Header.Get("Preference-Applied"), b)
	}
	var a drawbridge.Request
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if a.State != drawbridge.StateApproved {
		t.Errorf("approved in the background: state %s, want APPROVED", a.State)
	}

	// A token that may not reach async still meets every usual check.
	resp, _ = e.do("auditor", "POST", "/v1/requests", body, "Prefer", "respond-async")
	if resp.StatusCode != nethttp.StatusForbidden {
		t.Errorf("auditor with Prefer: status %d, want 403", resp.StatusCode)
	}
}
