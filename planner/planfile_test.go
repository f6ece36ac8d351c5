package planner

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

func TestPlanFile_roundTrip(t *testing.T) {
	old := cfgOf(mod(t, "vitals", "heartbeat", "heartbeat", beat("10s")))
	cfg := cfgOf(
		mod(t, "vitals", "heartbeat", "heartbeat", beat("5s")),
		mod(t, "synapse", "bus", "exec", map[string]cty.Value{"command": cty.ListVal([]cty.Value{cty.StringVal("bus")})}),
	)
	p := mustPlan(t, cfg, applied(old), Options{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	path := filepath.Join(t.TempDir(), "plan.out")
	if err := WriteFile(path, p); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("got mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(summaryOf(got), summaryOf(p)) || got.Lineage != p.Lineage || got.ConfigDigest != p.ConfigDigest {
		t.Errorf("got: %+v, want: %+v", got, p)
	}
	if !got.Changes[0].After.Config.Value().RawEquals(p.Changes[0].After.Config.Value()) {
		t.Errorf("config did not round-trip: got %#v", got.Changes[0].After.Config.Value())
	}
}

func summaryOf(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.Address+" "+c.Action.String())
	}
	return out
}

func TestPlanFile_refusesOtherFiles(t *testing.T) {
	for name, body := range map[string]string{
		"not json":       "hello",
		"other version":  `{"format_version":"9.9","changes":[]}`,
		"change no spec": `{"format_version":"1.0","changes":[{"address":"module.a.b","action":"create"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode([]byte(body)); !errors.Is(err, ErrNotAPlan) {
				t.Errorf("got %v, want ErrNotAPlan", err)
			}
		})
	}
}

func TestPlan_checkFresh(t *testing.T) {
	cfg := cfgOf(mod(t, "a", "b", "target", nil))
	st := applied(cfg)
	st.Lineage = "L"
	p := &Plan{Lineage: "L", Serial: st.Serial, StateDigest: StateDigest(st)}
	if err := p.CheckFresh(st); err != nil {
		t.Errorf("got %v for the same state", err)
	}

	bookkeeping := st.Clone()
	bookkeeping.Serial++
	bookkeeping.Modules["module.a.b"].UptimeSeconds = 99
	bookkeeping.Modules["module.a.b"].Restarts = 3
	if err := p.CheckFresh(bookkeeping); err != nil {
		t.Errorf("uptime and restarts made the plan stale: %v", err)
	}

	failed := st.Clone()
	failed.Serial++
	failed.Modules["module.a.b"].State = modules.StateFailed
	if err := p.CheckFresh(failed); !errors.Is(err, ErrStalePlan) {
		t.Errorf("got %v after a lifecycle change, want ErrStalePlan", err)
	}

	other := st.Clone()
	other.Lineage = "M"
	if err := p.CheckFresh(other); !errors.Is(err, ErrStalePlan) {
		t.Errorf("got %v for another lineage, want ErrStalePlan", err)
	}
}
