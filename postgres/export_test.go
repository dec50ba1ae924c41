package postgres

// CountRequestsSQL exposes the /metrics count query to its plan test.
var CountRequestsSQL = countRequestsSQL
