package directory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/directory"
)

func exampleDirectory() *directory.Static {
	return directory.NewStatic([]directory.User{
		{Email: "Alice@Example.com", Name: "Alice Engineer", SlackID: "U12345678", AWSUserID: "aws-alice", Groups: []string{"engineers"}},
		{Email: "bob@example.com", Name: "Bob Lead", SlackID: "U23456789", AWSUserID: "aws-bob", Groups: []string{"engineers", "sre-leads"}},
		{Email: "carol@example.com", SlackID: "W34567890", Groups: []string{"sre-leads"}},
	})
}

func TestResolve(t *testing.T) {
	d := exampleDirectory()
	ctx := context.Background()
	for _, tc := range []struct{ who, want string }{
		{"alice@example.com", "alice@example.com"},
		{"ALICE@EXAMPLE.COM", "alice@example.com"},
		{"  Alice@Example.com ", "alice@example.com"},
		{"U12345678", "alice@example.com"},
		{"slack:U12345678", "alice@example.com"},
		{" U23456789", "bob@example.com"},
		{"W34567890", "carol@example.com"},
		{"slack:W34567890", "carol@example.com"},
	} {
		p, err := d.Resolve(ctx, tc.who)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tc.who, err)
			continue
		}
		if p.ID != tc.want {
			t.Errorf("Resolve(%q) = %q, want %q", tc.who, p.ID, tc.want)
		}
	}
	p, err := d.Resolve(ctx, "U12345678")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Alice Engineer" || p.SlackID != "U12345678" || p.AWSUserID != "aws-alice" || !p.InGroup("engineers") || p.InGroup("sre-leads") {
		t.Errorf("principal %+v", p)
	}
	// Callers get a copy: changing it does not change the directory.
	p.Groups[0] = "sre-leads"
	again, _ := d.Resolve(ctx, "alice@example.com")
	if again.InGroup("sre-leads") {
		t.Error("a caller's change leaked into the directory")
	}
}

func TestResolveUnknown(t *testing.T) {
	d := exampleDirectory()
	for _, who := range []string{"mallory@example.com", "U99999999", "slack:U99999999", "alice", "slack:alice@example.com", "u12345678",
		"ſlice@example.com", "\u0430lice@example.com"} {
		_, err := d.Resolve(context.Background(), who)
		// Naming a person who does not exist is a usage error (exit 2,
		// HTTP 400), not a missing resource.
		if drawbridge.ErrorCode(err) != drawbridge.EINVALID || !drawbridge.IsUnknownPerson(err) {
			t.Errorf("Resolve(%q) = %v, want an unknown person (EINVALID)", who, err)
			continue
		}
		msg := drawbridge.ErrorMessage(err)
		for _, want := range []string{fmt.Sprintf("%q", who), "directory.users"} {
			if !strings.Contains(msg, want) {
				t.Errorf("Resolve(%q) message %q lacks %q", who, msg, want)
			}
		}
		// Whoever mistyped a name learns nothing about who else exists.
		for _, other := range []string{"bob@example.com", "carol@example.com", "U23456789"} {
			if strings.Contains(msg, other) {
				t.Errorf("Resolve(%q) message %q lists %s", who, msg, other)
			}
		}
	}
	if _, err := d.Resolve(context.Background(), ""); drawbridge.ErrorCode(err) != drawbridge.EINVALID {
		t.Errorf("empty name: %v, want EINVALID", err)
	}
}
