package aws_test

import (
	"context"
	"testing"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/directory"
)

// The Identity Store matches emails case-insensitively with Unicode case
// folding (the emulator too: strings.EqualFold), under which "ſ" (long s)
// is "s". Drawbridge folds ASCII only, so a lookup must never let a
// non-ASCII spelling reach someone else's Identity Store user.
func TestIdentityStoreLookupsDoNotFoldUnicode(t *testing.T) {
	em, p := setupWith(t, emulator.Options{}, aws.Config{})
	em.AddUser(uid("u-sam"), "sam", "sam@example.com")
	em.AddUser(uid("u-ſue"), "ſue", "ſue@example.com")
	dir := aws.NewDirectory(directory.NewStatic([]directory.User{{Email: "sam@example.com"}}), p)
	ctx := context.Background()

	sam, err := dir.Resolve(ctx, "sam@example.com")
	if err != nil || sam.Identity("aws") != uid("u-sam") {
		t.Fatalf("sam = %+v, %v", sam, err)
	}
	// Someone not in the directory, named with a long s: not sam.
	alias, err := dir.Resolve(ctx, "ſam@example.com")
	if err == nil {
		t.Fatalf("ſam@example.com resolved to %+v: an alias of sam's Identity Store user", alias)
	}
	if !drawbridge.IsUnknownPerson(err) {
		t.Errorf("ſam@example.com: %v, want an unknown person", err)
	}
	// An ASCII email that the store folds onto a non-ASCII user's email
	// is not that user either.
	if sue, err := dir.Resolve(ctx, "sue@example.com"); err == nil {
		t.Fatalf("sue@example.com resolved to %+v, the Identity Store user of ſue@example.com", sue)
	}
	if id, err := p.PrincipalRef(ctx, &drawbridge.Principal{ID: "sue@example.com"}); err == nil {
		t.Fatalf("PrincipalRef(sue@example.com) = %s, the Identity Store user of ſue@example.com", id)
	}
}
