package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
)

func TestMaxContinuousParseErrors(t *testing.T) {
	for _, tt := range []struct{ name, src, want string }{
		{"shorter than max_duration", edit("    max_duration: 1h\n", "    max_duration: 1h\n    max_continuous: 30m\n"),
			`10:21: rule "r": max_continuous 30m0s is shorter than max_duration 1h0m0s`},
		{"longer than the limit", edit("    max_duration: 1h\n", "    max_duration: 1h\n    max_continuous: 40d\n"),
			`10:21: rule "r": max_continuous 960h0m0s is longer than Drawbridge's limit of 744h0m0s`},
		{"not a duration", edit("    max_duration: 1h\n", "    max_duration: 1h\n    max_continuous: 3 hours\n"),
			`10:21: max_continuous: invalid duration "3 hours"`},
		{"on a deny rule", strings.Replace(edit("    max_duration: 1h\n", "    max_continuous: 2h\n"), "decision: allow", "decision: deny", 1),
			`9:5: rule "r" denies, so max_continuous has no effect; remove it`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("access_rules.yaml", []byte(tt.src))
			if err == nil || !strings.HasPrefix(err.Error(), "access_rules.yaml:"+tt.want) {
				t.Fatalf("got %v\nwant access_rules.yaml:%s…", err, tt.want)
			}
		})
	}
}

// The continuous window of a request runs from when the requester's
// unbroken access began to the request's end (from the end of the grant it
// extends, for an extension); max_continuous bounds it, max_duration when
// unset.
func TestContinuousWindow(t *testing.T) {
	p := mustParse(t, edit("    max_duration: 1h\n", "    max_duration: 1h\n    max_continuous: 3h\n"))
	plain := mustParse(t, base)
	who := &drawbridge.Principal{ID: "alice@example.com"}
	for _, tt := range []struct {
		name          string
		pol           *Policy
		since, extend time.Duration // relative to testNow; since 0 = no current access
		d             time.Duration
		deny          string
	}{
		{"no current access", p, 0, 0, time.Hour, ""},
		{"fresh request overlapping, inside", p, -2 * time.Hour, 0, time.Hour, ""},
		{"fresh request overlapping, outside", p, -2*time.Hour - time.Second, 0, time.Hour, "would last 3h0m1s, more than max_continuous 3h0m0s"},
		{"extension runs from the parent's end", p, -time.Hour, 90 * time.Minute, time.Hour, "would last 3h30m0s"},
		{"extension inside", p, -time.Hour, time.Hour, time.Hour, ""},
		{"default is max_duration", plain, -time.Minute, 30 * time.Second, time.Hour, "more than max_duration 1h0m0s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := input(who, stagingAccount, "ReadOnlyAccess", tt.d)
			if tt.since != 0 {
				in.ContinuousSince = testNow.Add(tt.since)
			}
			if tt.extend != 0 {
				in.ExtendsUntil = testNow.Add(tt.extend)
			}
			d := evaluate(t, tt.pol, in)
			switch {
			case tt.deny == "" && d.Effect != drawbridge.EffectAllow:
				t.Fatalf("decided %s (%s), want allow", d.Effect, d.Reason)
			case tt.deny != "" && (d.Effect != drawbridge.EffectDeny || !strings.Contains(d.Reason, tt.deny) || !strings.Contains(d.Reason, "continuous access from")):
				t.Fatalf("decided %s (%s), want deny mentioning %q", d.Effect, d.Reason, tt.deny)
			}
		})
	}
}
