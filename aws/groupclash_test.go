package aws_test

import (
	"context"
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/directory"
)

// TestIdentityStoreGroupCannotShadowConfigGroup: group names are one
// namespace across sources. An Identity Store group named like a group of
// the config's directory (here "sre-leads", the approvers of production)
// would make its members approvers without anyone editing the config, so
// resolving anyone in such a group is refused, naming both sources.
func TestIdentityStoreGroupCannotShadowConfigGroup(t *testing.T) {
	em, p := setupWith(t, emulator.Options{}, aws.Config{ResolveGroups: true})
	em.AddUser(uid("u-erin"), "erin", "erin@example.com")
	em.AddUser(uid("u-dave"), "dave", "dave@example.com")
	em.AddGroup(uid("g-sre"), "sre-leads")
	em.AddGroup(uid("g-ops"), "ops")
	if err := em.AddMembership(uid("g-sre"), uid("u-erin")); err != nil {
		t.Fatal(err)
	}
	if err := em.AddMembership(uid("g-ops"), uid("u-dave")); err != nil {
		t.Fatal(err)
	}
	base := directory.NewStatic([]directory.User{
		{Email: "carol@example.com", Groups: []string{"sre-leads"}},
		{Email: "erin@example.com"},
		{Email: "dave@example.com"},
	})
	dir := aws.NewDirectory(base, p)
	ctx := context.Background()
	erin, err := dir.Resolve(ctx, "erin@example.com")
	if err == nil {
		t.Fatalf("erin resolved with groups %v: an Identity Store group took the name of a config group", erin.Groups)
	}
	if drawbridge.ErrorCode(err) != drawbridge.EINTERNAL || !strings.Contains(err.Error(), `"sre-leads"`) || !strings.Contains(err.Error(), "Identity Store") {
		t.Fatalf("erin: %v; want a refusal naming the group and both sources", err)
	}
	// A group only the Identity Store defines still joins.
	dave, err := dir.Resolve(ctx, "dave@example.com")
	if err != nil || !dave.InGroup("ops") {
		t.Fatalf("dave = %+v, %v", dave, err)
	}
}
