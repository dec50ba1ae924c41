package main

import (
	"testing"

	"github.com/drawbridge-jit/drawbridge/grammar/grammartest"
)

// The CLI side of the table the Slack channel's test shares: each form's
// arguments, after the requester on the store and alone in remote mode,
// read as the same request as the slash command's text.
func TestSharedRequestForms(t *testing.T) {
	for _, f := range grammartest.Forms {
		want := f.Want
		want.Requester = "alice@example.com"
		got, err := (&globals{}).parseRequest(append([]string{"alice@example.com"}, f.CLI...), "")
		if err != nil || got != want {
			t.Errorf("operator %q: %+v, %v\nwant %+v", f.CLI, got, err, want)
		}
		got, err = (&globals{addr: "http://127.0.0.1:1"}).parseRequest(f.CLI, "")
		if err != nil || got != f.Want {
			t.Errorf("remote %q: %+v, %v\nwant %+v", f.CLI, got, err, f.Want)
		}
	}
}
