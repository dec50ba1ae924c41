package main

// fdReserve is how many file descriptors serve keeps out of reach of
// inbound connections: the store (SQLite file, WAL, shared memory, its
// connection pool), the provider's own HTTP transport (AWS calls, status
// polling, Identity Store and Organizations lookups, bounded by
// max_in_flight and the transport's idle pool), the policy file, logs. The
// expiry engine's revocations need these; a flood of clients must never
// take them ("socket: too many open files" in a revocation).
const fdReserve = 128

// checkOpenFiles refuses a connection cap that, with the reserve, does
// not fit in the process's open-file limit (0 = unknown: no check).
func checkOpenFiles(maxConnections int, limit uint64) error {
	if limit == 0 || uint64(maxConnections)+fdReserve <= limit {
		return nil
	}
	return usageError("server.max_connections %d plus %d file descriptors kept for the store, the provider and the expiry engine "+
		"exceed this process's open-file limit of %d (ulimit -n): lower server.max_connections to at most %d or raise the limit",
		maxConnections, fdReserve, limit, max(int64(limit)-fdReserve, 0))
}
