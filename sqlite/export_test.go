package sqlite

// CountRequestsSQL exposes the /metrics count query to its plan test.
var CountRequestsSQL = countRequestsSQL

// HoldersSQL exposes reconciliation's keyset query to the plan test.
var HoldersSQL = holdersSQL

// TraceList sets the hook that sees every query ListRequests runs, and
// returns a function that removes it.
func TraceList(fn func(query string, args []any)) func() {
	traceList = fn
	return func() { traceList = func(string, []any) {} }
}
