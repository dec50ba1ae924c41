package http_test

import (
	"go/build"
	"strings"
	"testing"
)

// The HTTP adapter stands apart from the other adapters: what it needs of
// them (the catalog's answers, the store) comes through the domain's
// interfaces, so the picture of the imports keeps the domain at the bottom
// and a new provider or store never reaches into the API.
func TestHTTPImportsNoOtherAdapter(t *testing.T) {
	const module = "github.com/drawbridge-jit/drawbridge"
	forbidden := map[string]bool{}
	for _, p := range []string{"catalog", "aws", "sqlite", "directory", "config", "metrics"} {
		forbidden[module+"/"+p] = true
	}
	seen := map[string]string{} // package -> who imported it first
	var walk func(pkg, from string)
	walk = func(pkg, from string) {
		if _, ok := seen[pkg]; ok || (pkg != module && !strings.HasPrefix(pkg, module+"/")) {
			return
		}
		seen[pkg] = from
		if forbidden[pkg] {
			t.Errorf("http imports %s (through %s)", pkg, from)
			return
		}
		bp, err := build.Import(pkg, ".", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range bp.Imports {
			walk(imp, pkg)
		}
	}
	walk(module+"/http", "")
	if len(seen) < 3 {
		t.Fatalf("walked only %v", seen)
	}
}
