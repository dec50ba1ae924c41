package aws_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
	"github.com/drawbridge-jit/drawbridge/catalog"
	"github.com/drawbridge-jit/drawbridge/clock"
)

const (
	paymentsProd = "111111111111"
	sandboxAcct  = "222222222222"
)

// seedOrg builds root > ou-prod > ou-payments > paymentsProd, and
// sandboxAcct under the root.
func seedOrg(t *testing.T, em *emulator.Server) {
	t.Helper()
	for _, ou := range [][2]string{{"ou-root-prod0000", ""}, {"ou-root-payments", "ou-root-prod0000"}} {
		if err := em.AddOU(ou[0], ou[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := em.AddAccount(paymentsProd, "payments-prod", "ou-root-payments", map[string]string{"env": "prod", "team": "payments"}); err != nil {
		t.Fatal(err)
	}
	if err := em.AddAccount(sandboxAcct, "sandbox", "", nil); err != nil {
		t.Fatal(err)
	}
}

func staticCatalog() *catalog.Accounts {
	return catalog.NewAccounts(nil, []string{"AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess"})
}

func awsEnt(account, role string) drawbridge.Entitlement {
	return drawbridge.Entitlement{Provider: "aws", Resource: account, Role: role}
}

func TestOrgCatalogResolvesOUPathAndTags(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	em, p := setupWith(t, emulator.Options{}, aws.Config{Now: clk.Now})
	seedOrg(t, em)
	cat := p.Catalog(staticCatalog(), aws.OrgOptions{Refresh: 10 * time.Minute})
	defer cat.Close()

	if err := cat.Check(paymentsProd, "ReadOnlyAccess"); err != nil {
		t.Fatal(err)
	}
	ous, tags := cat.ResourceAttrs(paymentsProd)
	if !slices.Equal(ous, []string{"ou-root-prod0000", "ou-root-payments"}) {
		t.Fatalf("OU path = %v; want the whole path, outermost first", ous)
	}
	if len(tags) != 2 || tags["env"] != "prod" || tags["team"] != "payments" {
		t.Fatalf("tags = %v", tags)
	}
	if ous, tags := cat.ResourceAttrs(sandboxAcct); len(ous) != 0 || len(tags) != 0 {
		t.Fatalf("account under the root: %v %v", ous, tags)
	}

	// Within the refresh period, answers come from the cache.
	calls := func() int {
		return em.Calls(emulator.OpDescribeAccount) + em.Calls(emulator.OpListParents) + em.Calls(emulator.OpListTagsForResource)
	}
	before := calls()
	for range 5 {
		cat.Check(paymentsProd, "AdministratorAccess")
		cat.ResourceAttrs(paymentsProd)
	}
	if calls() != before {
		t.Fatalf("%d AWS calls for cached answers", calls()-before)
	}
	// The OUs' parents are shared: a second account in the same OU costs
	// one ListParents (its own), not three.
	if err := em.AddAccount("333333333333", "payments-dr", "ou-root-payments", nil); err != nil {
		t.Fatal(err)
	}
	parents := em.Calls(emulator.OpListParents)
	if ous, _ := cat.ResourceAttrs("333333333333"); len(ous) != 2 {
		t.Fatalf("second account's path = %v", ous)
	}
	if n := em.Calls(emulator.OpListParents) - parents; n != 1 {
		t.Errorf("%d ListParents for an account in a known OU, want 1", n)
	}

	// After the refresh period the account is read again: a moved account
	// and new tags show.
	if err := em.AddAccount(paymentsProd, "payments-prod", "ou-root-prod0000", map[string]string{"env": "prod"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(11 * time.Minute)
	ous, tags = cat.ResourceAttrs(paymentsProd)
	if !slices.Equal(ous, []string{"ou-root-prod0000"}) || len(tags) != 1 {
		t.Fatalf("after the refresh period: %v %v", ous, tags)
	}

	// When AWS fails, the previous answer stays in use.
	clk.Advance(11 * time.Minute)
	em.Fail(emulator.OpDescribeAccount, emulator.Fault{Code: "ServiceException"})
	if err := cat.Check(paymentsProd, "ReadOnlyAccess"); err != nil {
		t.Fatalf("Check with AWS failing and an old answer: %v", err)
	}
	if ous, _ := cat.ResourceAttrs(paymentsProd); len(ous) != 1 {
		t.Fatalf("old answer not used: %v", ous)
	}
	// ... but an account never seen cannot be vouched for.
	if err := cat.Check(sandboxAcct, "ReadOnlyAccess"); err != nil {
		t.Fatalf("cached sandbox account: %v", err)
	}
	err := cat.Check("444444444444", "ReadOnlyAccess")
	if drawbridge.ErrorCode(err) != drawbridge.EUNAVAILABLE {
		t.Fatalf("new account with AWS failing: %v; want EUNAVAILABLE", err)
	}
}

func TestOrgCatalogCheck(t *testing.T) {
	em, p := setupWith(t, emulator.Options{}, aws.Config{})
	seedOrg(t, em)
	org := p.Catalog(staticCatalog(), aws.OrgOptions{})
	defer org.Close()
	// The AWS provider's catalog, beside another provider's: each is
	// checked by its own.
	cat := catalog.New(map[string]drawbridge.ProviderCatalog{
		"aws":   org,
		"hooks": catalog.NewResources("hooks", []catalog.Resource{{Name: "x", Roles: []string{"member"}}}),
	}, "aws")
	cases := []struct {
		e    drawbridge.Entitlement
		code string
		want string
	}{
		{awsEnt(paymentsProd, "PowerUserAccess"), "", ""},
		{awsEnt("999999999999", "ReadOnlyAccess"), drawbridge.EINVALID, "999999999999 is not in the AWS organisation"},
		{awsEnt("12345", "ReadOnlyAccess"), drawbridge.EINVALID, "must be 12 digits"},
		{awsEnt(paymentsProd, "DBAdmin"), drawbridge.EINVALID, "unknown permission set"},
		{drawbridge.Entitlement{Provider: "hooks", Resource: "x", Role: "member"}, "", ""},
		{drawbridge.Entitlement{Provider: "entra", Resource: "x", Role: "member"}, drawbridge.EINVALID, "unknown provider"},
	}
	for _, tc := range cases {
		_, err := cat.Resolve(tc.e)
		if drawbridge.ErrorCode(err) != tc.code || (tc.want != "" && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Resolve(%s) = %v; want code %q containing %q", tc.e, err, tc.code, tc.want)
		}
	}
	// Malformed ids and unknown permission sets never reach AWS.
	if n := em.Calls(emulator.OpDescribeAccount); n != 2 {
		t.Errorf("%d DescribeAccount calls, want 2 (the member and the stranger)", n)
	}
}

func TestOrgCatalogRefreshesInTheBackground(t *testing.T) {
	em, p := setupWith(t, emulator.Options{}, aws.Config{})
	seedOrg(t, em)
	cat := p.Catalog(staticCatalog(), aws.OrgOptions{Refresh: 40 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cat.Start(ctx)
	if err := cat.Check(paymentsProd, "ReadOnlyAccess"); err != nil {
		t.Fatal(err)
	}
	if err := em.AddAccount(paymentsProd, "payments-prod", "ou-root-prod0000", map[string]string{"env": "staging"}); err != nil {
		t.Fatal(err)
	}
	// Wait for what the refresh produces (the new tags), not for its calls:
	// a DescribeAccount is counted when it arrives, before the catalog has
	// stored the answer. The bound is generous for a loaded machine; the
	// refresh period is 40 ms.
	for i := 0; ; i++ {
		if _, tags := cat.ResourceAttrs(paymentsProd); tags["env"] == "staging" {
			break
		}
		if i == 6000 {
			_, tags := cat.ResourceAttrs(paymentsProd)
			t.Fatalf("no background refresh after 30 s: tags %v, %d DescribeAccount calls", tags, em.Calls(emulator.OpDescribeAccount))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cat.Close(); err != nil {
		t.Fatal(err)
	}
	stopped := em.Calls(emulator.OpDescribeAccount)
	time.Sleep(100 * time.Millisecond)
	if n := em.Calls(emulator.OpDescribeAccount); n != stopped {
		t.Fatalf("%d refreshes after Close", n-stopped)
	}
	cat.Close() // idempotent
}
