package grammar_test

import (
	"testing"

	"github.com/drawbridge-jit/drawbridge/grammar"
	"github.com/drawbridge-jit/drawbridge/grammar/grammartest"
)

// The shared table: every form parses from chat text and from the CLI's
// arguments to the same request.
func TestSharedForms(t *testing.T) {
	for _, f := range grammartest.Forms {
		got, err := grammar.ParseText(f.Slack)
		if err != nil || got != f.Want {
			t.Errorf("chat %q: %+v, %v\nwant %+v", f.Slack, got, err, f.Want)
		}
		got, err = grammar.Parse(f.CLI)
		if err != nil || got != f.Want {
			t.Errorf("cli %q: %+v, %v\nwant %+v", f.CLI, got, err, f.Want)
		}
	}
}
