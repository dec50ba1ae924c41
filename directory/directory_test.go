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
		{Email: "Alice@Example.com", Name: "Alice Engineer", Identities: map[string]string{"slack": "U12345678", "aws": "aws-alice"}, Groups: []string{"engineers"}},
		{Email: "bob@example.com", Name: "Bob Lead", Identities: map[string]string{"slack": "U23456789", "aws": "aws-bob"}, Groups: []string{"engineers", "sre-leads"}},
		{Email: "carol@example.com", Identities: map[string]string{"slack": "W34567890"}, Groups: []string{"sre-leads"}},
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
	if p.Name != "Alice Engineer" || p.Identity("slack") != "U12345678" || p.Identity("aws") != "aws-alice" || !p.InGroup("engineers") || p.InGroup("sre-leads") {
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

// TestResolveByAnyLinkedIdentity: every linked identity finds its person
// when written "kind:id", and the identities a caller gets are a copy.
func TestResolveByAnyLinkedIdentity(t *testing.T) {
	d := directory.NewStatic([]directory.User{
		{Email: "dana@example.com", Identities: map[string]string{"oidc": "https://idp.example.com#248289761001", "entra": "7f1c7a4e-0000-4000-8000-000000000001"}},
		{Email: "eve@example.com", Identities: map[string]string{"okta": "00u1a2b3c4d5e6f7g8h9"}},
	})
	ctx := context.Background()
	for who, want := range map[string]string{
		"oidc:https://idp.example.com#248289761001":  "dana@example.com",
		"entra:7f1c7a4e-0000-4000-8000-000000000001": "dana@example.com",
		"okta:00u1a2b3c4d5e6f7g8h9":                  "eve@example.com",
	} {
		p, err := d.Resolve(ctx, who)
		if err != nil || p.ID != want {
			t.Errorf("Resolve(%q) = %+v, %v; want %s", who, p, err, want)
		}
	}
	for _, who := range []string{"oidc:https://other.example.com#248289761001", "okta:00u1a2b3c4d5e6f7g8h9x", "entra:dana@example.com"} {
		if _, err := d.Resolve(ctx, who); !drawbridge.IsUnknownPerson(err) {
			t.Errorf("Resolve(%q) = %v, want an unknown person", who, err)
		}
	}
	p, _ := d.Resolve(ctx, "dana@example.com")
	p.Link("slack", "U0MALLORY")
	if _, err := d.Resolve(ctx, "slack:U0MALLORY"); !drawbridge.IsUnknownPerson(err) {
		t.Error("a caller's change to the identities leaked into the directory")
	}
	if again, _ := d.Resolve(ctx, "dana@example.com"); again.Identity("slack") != "" {
		t.Error("a caller's change to the identities leaked into the directory")
	}
	if !d.DefinesGroup("") == d.DefinesGroup("engineers") {
		t.Error("a directory without groups defines one")
	}
}
