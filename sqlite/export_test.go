package sqlite

// MergedQuery exposes mergedQuery to the plan test.
var MergedQuery = mergedQuery
