package runtime

import (
	"context"
	"errors"
	"testing"

	"github.com/nexus-run/nexus/modules"
)

func TestRuntime_samplesAgreeWithSnapshot(t *testing.T) {
	e := newEnv(t)
	e.create(spec("module.g.a"))
	e.create(spec("module.g.b"))
	stopped := spec("module.g.c")
	e.create(stopped)
	if err := e.rt.Do(context.Background(), stopped, modules.TransitionStop); err != nil {
		t.Fatal(err)
	}
	e.lab.set("module.g.bad", &behaviour{initErr: errors.New("no")})
	_ = e.rt.Do(context.Background(), spec("module.g.bad"), modules.TransitionInit)
	eventually(t, "module.g.a ready", func() bool { return e.status("module.g.a").Health.Ready })

	snap, samples := e.rt.Snapshot(), e.rt.Samples()
	if len(samples) != len(snap) {
		t.Fatalf("got: %d samples\nwant: %d, one per module Snapshot lists", len(samples), len(snap))
	}
	for i, s := range samples {
		st := snap[i]
		want := Sample{Address: st.Spec.Address, ID: st.Spec.ID, Kind: st.Spec.Kind, State: st.State,
			Ready: st.Health.Ready, Restarts: st.Restarts, Usage: st.Usage}
		if s != want {
			t.Errorf("got: %+v\nwant: %+v", s, want)
		}
	}
	byAddr := map[string]Sample{}
	for _, s := range samples {
		byAddr[s.Address] = s
	}
	if c := byAddr["module.g.c"]; c.State != modules.StateStopped || c.Ready {
		t.Errorf("got: %+v\nwant: module.g.c stopped and not ready", c)
	}
	if bad := byAddr["module.g.bad"]; bad.State != modules.StateFailed {
		t.Errorf("got: %+v\nwant: module.g.bad failed (its init did)", bad)
	}
}
