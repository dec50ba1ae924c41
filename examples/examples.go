// Package examples embeds the example configuration, policy and policy
// tests, so that `drawbridge demo` and dev mode run on exactly the files
// the README shows.
package examples

import "embed"

// FS holds drawbridge.yaml, access_rules.yaml and policy_tests.yaml.
//
//go:embed *.yaml
var FS embed.FS
