package runtime_test

import (
	"context"
	"fmt"

	"github.com/nexus-run/nexus/internal/runtime"
	"github.com/nexus-run/nexus/modules"
	"github.com/nexus-run/nexus/modules/target"
)

// The executor drives each module through its transitions; the runtime
// supervises it from then on and answers for its status.
func Example() {
	reg := modules.NewRegistry()
	reg.MustRegister(target.Manifest(), target.New)
	rt := runtime.New(runtime.Options{Registry: reg, Node: "host-1"})
	ctx := context.Background()

	spec := &modules.Spec{Address: "module.app.ready", ID: "app/ready", Kind: "target", DesiredState: modules.DesiredStarted}
	for _, t := range []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart} {
		if err := rt.Do(ctx, spec, t); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := rt.WaitReady(ctx, spec.Address); err != nil {
		fmt.Println(err)
		return
	}
	st, _ := rt.Status(spec.Address)
	fmt.Println(st.Spec.ID, st.State, st.Health.Status, st.Health.Ready)

	if err := rt.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	st, _ = rt.Status(spec.Address)
	fmt.Println(st.Spec.ID, st.State)
	// Output:
	// app/ready started healthy true
	// app/ready stopped
}
