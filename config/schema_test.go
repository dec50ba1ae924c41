package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/drawbridge.schema.json")

// The schema shipped for editors is the one the code derives: run
// `go test ./config -update` after adding a key.
func TestSchemaFileUpToDate(t *testing.T) {
	got, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const file = "../docs/drawbridge.schema.json"
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go test ./config -update", file)
	}
}

// Every key Load accepts is in the schema, and the schema rejects unknown
// keys at every level, like Load.
func TestSchemaCoversConfig(t *testing.T) {
	raw, _ := Schema()
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	path := func(keys ...string) map[string]any {
		n := s
		for _, k := range keys {
			n = n["properties"].(map[string]any)[k].(map[string]any)
		}
		return n
	}
	for _, keys := range [][]string{
		{"server", "listen"}, {"server", "tls_cert_file"}, {"store", "dsn"}, {"policy", "file"},
		{"providers", "aws", "permission_sets"}, {"providers", "aws", "organizations", "refresh"},
		{"expiry", "reconcile_interval"}, {"api", "allow_wildcard_scopes"},
	} {
		n := path(keys...)
		if n["type"] == nil {
			t.Errorf("%v has no type", keys)
		}
	}
	for _, keys := range [][]string{{}, {"server"}, {"providers", "aws"}, {"providers", "aws", "organizations"}} {
		if path(keys...)["additionalProperties"] != false {
			t.Errorf("%v accepts unknown keys", keys)
		}
	}
	users := path("directory", "users")["items"].(map[string]any)
	if users["properties"].(map[string]any)["aws_user_id"] == nil {
		t.Error("directory.users[].aws_user_id missing")
	}
}

// providers: takes any instance name: one named after a kind may leave
// kind out, any other must give one of the kinds, each with its own keys.
func TestSchemaProviders(t *testing.T) {
	raw, _ := Schema()
	var s struct {
		Properties struct {
			Providers struct {
				Properties           map[string]map[string]any `json:"properties"`
				AdditionalProperties struct {
					OneOf []map[string]any `json:"oneOf"`
				} `json:"additionalProperties"`
			} `json:"providers"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	p := s.Properties.Providers
	if p.Properties["aws"]["required"] != nil || p.Properties["aws"]["additionalProperties"] != false {
		t.Errorf("providers.aws: %v", p.Properties["aws"])
	}
	if len(p.AdditionalProperties.OneOf) != len(Kinds()) {
		t.Fatalf("providers.<name>: %d kinds, want %d", len(p.AdditionalProperties.OneOf), len(Kinds()))
	}
	for _, k := range p.AdditionalProperties.OneOf {
		if req, _ := k["required"].([]any); len(req) != 1 || req[0] != "kind" {
			t.Errorf("providers.<name> without kind accepted: %v", k["required"])
		}
	}
}
