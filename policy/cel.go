package policy

import (
	"fmt"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/interpreter"
)

// celEnv declares what a condition can see. request and requester are maps
// rather than message types so that the policy needs no protobuf schema;
// the type checker still insists the whole condition is a bool.
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("request", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("requester", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("now", cel.TimestampType),
		cel.ParserExpressionSizeLimit(4096),
	)
})

// celCostLimit bounds one condition's runtime work, so a pathological
// expression fails (and, failing closed, does not match) instead of stalling
// every decision.
const celCostLimit = 100_000

// compileCondition returns the program, or the CEL issues (each with a
// 1-based line and 0-based column inside the expression).
func compileCondition(expr string) (cel.Program, []celIssue) {
	env, err := celEnv()
	if err != nil {
		return nil, []celIssue{{msg: err.Error()}}
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		var out []celIssue
		for _, e := range iss.Errors() {
			out = append(out, celIssue{line: e.Location.Line(), col: e.Location.Column(), msg: e.Message})
		}
		return nil, out
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, []celIssue{{msg: fmt.Sprintf("condition must be a bool expression, but it is %s (compare it, e.g. request.reason != \"\")", ast.OutputType())}}
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(celCostLimit))
	if err != nil {
		return nil, []celIssue{{msg: err.Error()}}
	}
	return prg, nil
}

type celIssue struct {
	line, col int
	msg       string
}

// activation resolves CEL variables from the Input lazily: rules without a
// condition never pay for building the maps, and within one decision they
// are built at most once.
type activation struct {
	in        *Input
	request   map[string]any
	requester map[string]any
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "request":
		if a.request == nil {
			in := a.in
			ous := in.OUs
			if ous == nil {
				ous = []string{}
			}
			tags := in.Tags
			if tags == nil {
				tags = map[string]string{}
			}
			a.request = map[string]any{
				"provider":       in.Entitlement.Provider,
				"resource":       in.Entitlement.Resource,
				"role":           in.Entitlement.Role,
				"account":        in.Entitlement.Resource,
				"permission_set": in.Entitlement.Role,
				"reason":         in.Reason,
				"ticket":         in.Ticket,
				"duration":       in.Duration,
				"ous":            ous,
				"tags":           tags,
			}
		}
		return a.request, true
	case "requester":
		if a.requester == nil {
			groups := a.in.Requester.Groups
			if groups == nil {
				groups = []string{}
			}
			a.requester = map[string]any{"id": a.in.Requester.ID, "groups": groups}
		}
		return a.requester, true
	case "now":
		return a.in.Now, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }
