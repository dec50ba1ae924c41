package metrics_test

import (
	"strings"
	"testing"

	"github.com/drawbridge-jit/drawbridge/metrics"
)

// Each field of a row found edited counts once, so an alert can say what
// was edited.
func TestRowMismatchCountsEachField(t *testing.T) {
	m := metrics.New(nil, nil)
	m.RowMismatch("req_1", []string{"expires_at", "preexisting_access"})
	m.RowMismatch("req_2", []string{"expires_at"})
	out := scrape(t, m)
	for _, want := range []string{
		`drawbridge_audit_row_mismatch_total{field="expires_at"} 2`,
		`drawbridge_audit_row_mismatch_total{field="preexisting_access"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in:\n%s", want, out)
		}
	}
}
