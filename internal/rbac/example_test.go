package rbac_test

import (
	"errors"
	"fmt"

	"github.com/nexus-run/nexus/internal/rbac"
)

func ExamplePolicy_Authorize() {
	policy, err := rbac.NewPolicy(
		[]rbac.Role{{Name: "operator", Permissions: []string{"plan", "apply", "module.*"}}},
		[]rbac.Principal{{Name: "ci@company.com", Roles: []string{"operator"}, TokenSHA256: rbac.HashToken("s3cret")}},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	principal, ok := policy.Authenticate("s3cret")
	fmt.Println(principal, ok)

	err = policy.Authorize(principal, []rbac.Need{
		{Permissions: []string{"apply"}},
		{Module: "synapse/bus", Permissions: []string{"module.load", "module.start"}},
		{Module: "vitals/heartbeat", Permissions: []string{"module.load", "module.start", "heartbeat.send"}},
	})
	fmt.Println(errors.Is(err, rbac.ErrPermissionDenied))
	fmt.Println(err)
	// Output:
	// ci@company.com true
	// true
	// permission denied for principal "ci@company.com": missing heartbeat.send for vitals/heartbeat
}
