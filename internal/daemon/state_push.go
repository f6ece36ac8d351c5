package daemon

import (
	"encoding/json"
	"slices"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/internal/rbac"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
)

// keepRedacted puts back into a pushed document what `nexus state pull`
// leaves out of it (see state.State.Redacted): the config of sensitive
// modules and every module's blob, taken from the project's current
// record of the same address. Without it, a pull edited and pushed back
// would wipe them. A sensitive module pushed with an empty config is taken
// as redacted.
func keepRedacted(next, cur *state.State) {
	if cur == nil {
		return
	}
	for addr, m := range next.Modules {
		old := cur.Modules[addr]
		if old == nil {
			continue
		}
		if m.Spec.Sensitive && m.Spec.Config.Value().RawEquals(cty.EmptyObjectVal) {
			m.Spec.Config = old.Spec.Config
		}
		if m.Blob == nil {
			m.Blob = old.Blob
		}
	}
}

// pushNeeds is what pushing next over cur lets the daemon do: on its next
// start it brings back every module next records as running, so a module
// the push adds or changes needs what creating and starting it through an
// apply would (module.load, module.start, its kind's and block's
// permissions), and one it drops needs module.unload. A push cannot be a
// way around apply's authorization.
func (d *Daemon) pushNeeds(cur, next *state.State) []rbac.Need {
	var needs []rbac.Need
	for _, addr := range next.Addresses() {
		m := next.Modules[addr]
		var old *state.Module
		if cur != nil {
			old = cur.Modules[addr]
		}
		if old != nil && old.State == m.State && sameSpec(&old.Spec, &m.Spec) {
			continue
		}
		perms := []string{"module.load"}
		if m.State == modules.StateStarted {
			perms = append(perms, "module.start")
		}
		for _, spec := range []*modules.Spec{&m.Spec, oldSpec(old)} {
			if spec == nil {
				continue
			}
			if man, ok := d.reg.Manifest(spec.Kind); ok {
				perms = append(perms, man.Permissions...)
			}
			perms = append(perms, spec.Permissions...)
		}
		needs = append(needs, rbac.Need{Module: addr, Permissions: perms})
	}
	if cur != nil {
		for _, addr := range cur.Addresses() {
			if next.Modules[addr] == nil {
				needs = append(needs, rbac.Need{Module: addr, Permissions: []string{"module.unload"}})
			}
		}
	}
	return needs
}

func oldSpec(m *state.Module) *modules.Spec {
	if m == nil {
		return nil
	}
	return &m.Spec
}

// sameSpec compares two specs by their JSON form (config included).
func sameSpec(a, b *modules.Spec) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && slices.Equal(x, y)
}
