// Package grammartest holds the table of request forms every channel's
// tests share: each accepted form of the reference README (the
// Slack-first broker Drawbridge replaces) as typed after the slash
// command, the same request as the CLI's arguments, and what both must
// parse to. The CLI's test and the Slack channel's test both run it, so the
// two cannot drift apart. Only tests import this package.
package grammartest

import (
	"time"

	"github.com/drawbridge-jit/drawbridge/grammar"
)

// Form is one request written for Slack and for the CLI.
type Form struct {
	// Slack is the text after the slash command ("/boundary …").
	Slack string
	// CLI are the arguments after `drawbridge request <requester>`.
	CLI []string
	// Want is what both parse to (without a requester).
	Want grammar.Request
}

// Forms are the reference README's accepted forms, then Drawbridge's own
// additions (provider:resource, aliases, a reason).
var Forms = []Form{
	{"123456789012 ReadOnlyAccess 0.5", []string{"123456789012", "ReadOnlyAccess", "0.5"},
		grammar.Request{Resource: "123456789012", Role: "ReadOnlyAccess", Hours: "0.5", Duration: 30 * time.Minute}},
	{"123456789012 ReadOnlyAccess 0.02", []string{"123456789012", "ReadOnlyAccess", "0.02"},
		grammar.Request{Resource: "123456789012", Role: "ReadOnlyAccess", Hours: "0.02", Duration: 72 * time.Second}},
	{"request 111122223333 AdministratorAccess 0.5 INC-12345", []string{"111122223333", "AdministratorAccess", "0.5", "INC-12345"},
		grammar.Request{Resource: "111122223333", Role: "AdministratorAccess", Hours: "0.5", Duration: 30 * time.Minute, Ticket: "INC-12345"}},
	{"111122223333 AdministratorAccess 0.5 ticket INC-12345", []string{"111122223333", "AdministratorAccess", "0.5", "ticket", "INC-12345"},
		grammar.Request{Resource: "111122223333", Role: "AdministratorAccess", Hours: "0.5", Duration: 30 * time.Minute, Ticket: "INC-12345"}},
	{"aws:123456789012 ReadOnlyAccess 1", []string{"aws:123456789012", "ReadOnlyAccess", "1"},
		grammar.Request{Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess", Hours: "1", Duration: time.Hour}},
	{"staging PowerUserAccess 2 --reason load test", []string{"staging", "PowerUserAccess", "2", "--reason", "load test"},
		grammar.Request{Resource: "staging", Role: "PowerUserAccess", Hours: "2", Duration: 2 * time.Hour, Reason: "load test"}},
	// In chat a quoted last word is the reason; the shell strips quotes,
	// so the CLI says --reason.
	{`prod AdministratorAccess 1 CHG-7 "db is down"`, []string{"prod", "AdministratorAccess", "1", "CHG-7", "--reason", "db is down"},
		grammar.Request{Resource: "prod", Role: "AdministratorAccess", Hours: "1", Duration: time.Hour, Ticket: "CHG-7", Reason: "db is down"}},
	{`111122223333 AdministratorAccess 0.5 ticket INC-12345 “rollback”`, []string{"111122223333", "AdministratorAccess", "0.5", "ticket", "INC-12345", "--reason", "rollback"},
		grammar.Request{Resource: "111122223333", Role: "AdministratorAccess", Hours: "0.5", Duration: 30 * time.Minute, Ticket: "INC-12345", Reason: "rollback"}},
}
