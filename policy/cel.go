package policy

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
)

// Request is what a condition sees as `request`, and Requester what it sees
// as `requester`. They are typed objects rather than maps so that the type
// checker knows every field: a misspelt field (`requester.group`,
// `request.durration`) is a load error at its position, instead of a
// missing key at run time. The cel tags are the names conditions use.
type Request struct {
	Provider      string            `cel:"provider"`
	Resource      string            `cel:"resource"`
	Role          string            `cel:"role"`
	Account       string            `cel:"account"`
	PermissionSet string            `cel:"permission_set"`
	Reason        string            `cel:"reason"`
	Ticket        string            `cel:"ticket"`
	Duration      time.Duration     `cel:"duration"`
	OUs           []string          `cel:"ous"`
	Tags          map[string]string `cel:"tags"`
}

// Requester is what a condition sees as `requester`.
type Requester struct {
	ID     string   `cel:"id"`
	Groups []string `cel:"groups"`
}

var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(ext.ParseStructTags(true), reflect.TypeFor[Request](), reflect.TypeFor[Requester]()),
		cel.Variable("request", cel.ObjectType(celTypeName[Request]())),
		cel.Variable("requester", cel.ObjectType(celTypeName[Requester]())),
		cel.Variable("now", cel.TimestampType),
		cel.ParserExpressionSizeLimit(4096),
	)
})

// celTypeName is the name NativeTypes gives a Go struct: its package name
// and type name.
func celTypeName[T any]() string {
	t := reflect.TypeFor[T]()
	return "policy." + t.Name()
}

// celVariables lists every variable and field a condition may use, for
// messages; it is derived from the types so it cannot drift from them.
var celVariables = sync.OnceValue(func() string {
	fields := func(t reflect.Type) string {
		names := make([]string, t.NumField())
		for i := range names {
			names[i] = t.Field(i).Tag.Get("cel")
		}
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("request.{%s}, requester.{%s}, now",
		fields(reflect.TypeFor[Request]()), fields(reflect.TypeFor[Requester]()))
})

// celCostLimit bounds one condition's runtime work, so a pathological
// expression fails (and, failing closed, denies) instead of stalling every
// decision.
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
	if !readsVariables(ast) {
		// Its value is the same for every request, so evaluate it now: one
		// that always fails (1/0 == 1) is a load error, not a deny of every
		// request that reaches the rule.
		if _, _, err := prg.Eval(cel.NoVars()); err != nil {
			return nil, []celIssue{{msg: fmt.Sprintf("condition fails to evaluate for every request: %v", err)}}
		}
	}
	return prg, nil
}

// readsVariables reports whether the checked expression refers to request,
// requester or now.
func readsVariables(ast *cel.Ast) bool {
	for _, ref := range ast.NativeRep().ReferenceMap() {
		switch ref.Name {
		case "request", "requester", "now":
			return true
		}
	}
	return false
}

type celIssue struct {
	line, col int
	msg       string
}

// activation resolves CEL variables from the Input lazily: rules without a
// condition never pay for building them, and within one decision they are
// built at most once.
type activation struct {
	in        *Input
	request   *Request
	requester *Requester
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "request":
		if a.request == nil {
			in := a.in
			a.request = &Request{
				Provider:      in.Entitlement.Provider,
				Resource:      in.Entitlement.Resource,
				Role:          in.Entitlement.Role,
				Account:       in.Entitlement.Resource,
				PermissionSet: in.Entitlement.Role,
				Reason:        in.Reason,
				Ticket:        in.Ticket,
				Duration:      in.Duration,
				OUs:           in.OUs,
				Tags:          in.Tags,
			}
		}
		return a.request, true
	case "requester":
		if a.requester == nil {
			a.requester = &Requester{ID: a.in.Requester.ID, Groups: a.in.Requester.Groups}
		}
		return a.requester, true
	case "now":
		return a.in.Now, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }
