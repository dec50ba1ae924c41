package sqlite

// MergedQuery exposes mergedQuery to the plan test.
var MergedQuery = mergedQuery

// CountRequestsSQL exposes the /metrics count query to its plan test.
var CountRequestsSQL = countRequestsSQL

// HoldersSQL exposes reconciliation's keyset query to the plan test.
var HoldersSQL = holdersSQL
