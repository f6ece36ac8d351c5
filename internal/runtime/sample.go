package runtime

import "github.com/nexus-run/nexus/modules"

// Sample is the part of a module's status that metrics read at every
// scrape: Snapshot without the copies (spec, health details, fingerprints,
// blob) a scrape of a thousand modules does not need.
type Sample struct {
	Address, ID, Kind string
	State             modules.State
	// Ready is the merged health's readiness; false unless started.
	Ready bool
	// Restarts is ModuleStatus.Restarts.
	Restarts int
	Usage    modules.Usage
}

// Samples returns a Sample of every module the runtime holds (those
// Snapshot lists), sorted by address. Module code (a UsageReporter) runs
// outside the runtime's locks.
func (r *Runtime) Samples() []Sample {
	units := r.allUnits()
	out := make([]Sample, 0, len(units))
	for _, u := range units {
		u.mu.Lock()
		inst := u.inst
		if inst == nil || u.gone {
			u.mu.Unlock()
			continue
		}
		s := Sample{Address: u.addr, ID: u.spec.ID, Kind: u.spec.Kind, State: inst.State(), Restarts: u.restarts}
		s.Ready = s.State == modules.StateStarted && u.health.Ready
		u.mu.Unlock()
		s.Usage = inst.Usage()
		out = append(out, s)
	}
	return out
}
