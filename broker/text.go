package broker

import "github.com/drawbridge-jit/drawbridge"

// input is one value a person typed, checked by the domain's text rules
// (drawbridge.CheckText for free text, CheckID for identifiers) here in the
// broker, which every channel goes through: the CLI in local mode, the
// HTTP API and Slack all get the same rule and the same error.
type input struct {
	field, value string
	max          int // 0: an identifier
}

func text(field, value string, max int) input { return input{field, value, max} }
func idInput(field, value string) input       { return input{field: field, value: value} }

func checkInput(in ...input) error {
	for _, f := range in {
		var err error
		if f.max == 0 {
			err = drawbridge.CheckID(f.field, f.value)
		} else {
			err = drawbridge.CheckText(f.field, f.value, f.max)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
