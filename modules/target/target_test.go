package target

import (
	"testing"

	"github.com/nexus-run/nexus/internal/kindtest"
	"github.com/nexus-run/nexus/modules"
)

func TestTarget_lifecycle(t *testing.T) {
	inst := kindtest.Instance(t, New(), modules.InstanceOptions{
		Spec:   modules.Spec{Kind: "target"},
		Config: kindtest.Config(t, Manifest(), nil),
	})
	kindtest.Up(t, inst)
	if h := kindtest.Health(inst); h.Status != modules.StatusHealthy || !h.Ready || !h.Live {
		t.Errorf("got: %+v, want: healthy, ready and live once started", h)
	}
	kindtest.Do(t, inst, modules.TransitionStop)
	if h := kindtest.Health(inst); h.Ready {
		t.Errorf("got: %+v, want: not ready once stopped", h)
	}
	kindtest.Do(t, inst, modules.TransitionStart, modules.TransitionStop, modules.TransitionUnload)
	if got := inst.State(); got != modules.StateUnloaded {
		t.Errorf("got: %s, want: %s", got, modules.StateUnloaded)
	}
}

func TestManifest_acceptsNoConfig(t *testing.T) {
	m := Manifest()
	if len(m.Config.Attributes) != 0 || m.Validate != nil {
		t.Errorf("got: %+v, want: an empty schema", m.Config)
	}
	r := modules.NewRegistry()
	if err := r.Register(m, New); err != nil {
		t.Fatal(err)
	}
}
