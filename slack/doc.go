// Package slack is Drawbridge's Slack channel: the slash command, the
// approval buttons and modals, in-place updates of approval messages and
// DMs, over Slack's HTTP endpoints. Every request is checked before it is
// read — our own v0 signature verifier with an injected clock and replay
// memory in the store, then the configured workspace, app and enterprise
// — and the Slack user becomes a drawbridge.Caller through the
// directory's linked identities (or, for allowed domains, the e-mail
// Slack reports). What a caller may do is the broker's and the Caller's
// rule, the same as on every other channel.
package slack
