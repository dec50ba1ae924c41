package webhook_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/webhook"
)

// The provider and the reference receiver agree: events signed with a
// secret the receiver knows are handled, a handler's failure is retried,
// and events signed with an unknown secret are refused unhandled, with
// the receiver's reason in the (permanent) error.
func TestReceiver(t *testing.T) {
	var got []webhook.Event
	var fail error
	rc := &webhook.Receiver{Secrets: [][]byte{newSecret}, Now: func() time.Time { return now.Add(time.Minute) },
		Handle: func(_ context.Context, ev webhook.Event) error {
			if fail != nil {
				return fail
			}
			got = append(got, ev)
			return nil
		}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	send := func(secret []byte) error {
		p, err := webhook.New(webhook.Config{Name: "hooks", URL: srv.URL, Secrets: [][]byte{secret}, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Grant(context.Background(), grantSpec())
		return err
	}
	if err := send(newSecret); err != nil || len(got) != 1 || got[0].Principal.Identities["slack"] != alice.Identities["slack"] {
		t.Fatalf("signed grant: %v, handled %+v", err, got)
	}
	fail = errors.New("payroll-db is down")
	if err := send(newSecret); err == nil || drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "payroll-db is down") {
		t.Fatalf("handler failure: %v; want a retryable error with its text", err)
	}
	fail = nil
	err := send(oldSecret)
	if err == nil || !drawbridge.IsPermanent(err) || !strings.Contains(err.Error(), "no signature matches") || len(got) != 1 {
		t.Fatalf("grant signed with an unknown secret: %v, handled %d; want refused, unhandled", err, len(got))
	}
}
