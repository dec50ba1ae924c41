package aws_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

// Reconciliation's listing retries a transient failure of one page (here
// throttling of the second page) like every other read, instead of failing
// the whole reconcile run.
func TestListAssignmentsRetriesTransientFailure(t *testing.T) {
	em, p := setupWith(t, emulator.Options{}, aws.Config{MaxTPS: -1})
	for i := range 150 {
		if err := em.AddAssignment(account, "ReadOnlyAccess", uid(fmt.Sprintf("u-%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	em.Script(emulator.OpListAccountAssignments, emulator.Fault{}, emulator.Fault{Code: "ThrottlingException"})
	got, err := p.ListAssignments(context.Background(), []string{account})
	if err != nil {
		t.Fatalf("ListAssignments with one throttled page: %v", err)
	}
	if len(got) != 150 {
		t.Fatalf("%d assignments, want 150", len(got))
	}
	// 3 permission sets, the first of two pages, plus the throttled page
	// asked again.
	if n := em.Calls(emulator.OpListAccountAssignments); n != 5 {
		t.Errorf("%d list calls, want 5", n)
	}
}
