package emulator_test

import (
	"context"
	"fmt"
	"time"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/aws"
	"github.com/drawbridge-jit/drawbridge/aws/emulator"
)

// The production AWS provider runs unchanged against the emulator: only the
// endpoint differs.
func Example() {
	em, err := emulator.Start("127.0.0.1:0", emulator.SandboxOptions())
	if err != nil {
		panic(err)
	}
	defer em.Close()

	p, err := aws.New(context.Background(), aws.Config{
		InstanceARN:     em.InstanceARN(),
		IdentityStoreID: em.IdentityStoreID(),
		PermissionSets:  em.PermissionSetARNs(),
		Endpoint:        em.URL(),
		PollInterval:    10 * time.Millisecond,
	})
	if err != nil {
		panic(err)
	}
	a := drawbridge.Assignment{
		Entitlement:  drawbridge.Entitlement{Provider: "aws", Resource: "123456789012", Role: "ReadOnlyAccess"},
		PrincipalRef: "9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001",
	}
	if _, err := p.Grant(context.Background(), drawbridge.GrantSpec{RequestID: "req_example", Assignment: a}); err != nil {
		panic(err)
	}
	fmt.Println(em.HasAssignment("123456789012", "ReadOnlyAccess", "9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001"))
	if _, err := p.Revoke(context.Background(), drawbridge.RevokeSpec{RequestID: "req_example", Assignment: a}); err != nil {
		panic(err)
	}
	fmt.Println(em.HasAssignment("123456789012", "ReadOnlyAccess", "9067e8a1b2-a1b2c3d4-1111-4a1a-8a1a-000000000001"))
	// Output:
	// true
	// false
}
