package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/modules"
)

// ErrNotAPlan is returned (wrapped) by ReadFile for a file that is not a
// nexus plan of a format this build reads.
var ErrNotAPlan = errors.New("not a nexus plan file")

// WriteFile saves a plan for a later `nexus apply PLANFILE`. The file is
// written atomically with mode 0600: a plan holds no secret values, but it
// may hold values of sensitive variables.
func WriteFile(path string, p *Plan) error {
	buf, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".nexus-plan-*")
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(buf, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	return nil
}

// ReadFile loads a saved plan.
func ReadFile(path string) (*Plan, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	return Decode(buf)
}

// Decode parses a plan's JSON, checking its format version.
func Decode(buf []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(buf, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAPlan, err)
	}
	if p.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%w: format version %q, this nexus reads %q", ErrNotAPlan, p.FormatVersion, FormatVersion)
	}
	for _, c := range p.Changes {
		if c == nil || (c.After == nil && c.Before == nil) {
			return nil, fmt.Errorf("%w: a change without a spec", ErrNotAPlan)
		}
	}
	return &p, nil
}

// CheckFresh refuses a plan whose base state is not the current one: the
// lineage must match, and either the serial or the state digest (what the
// plan assumed of every module's spec and lifecycle state) must be unchanged.
func (p *Plan) CheckFresh(current *state.State) error {
	lineage, serial := "", uint64(0)
	if current != nil {
		lineage, serial = current.Lineage, current.Serial
	}
	switch {
	case p.Lineage != "" && p.Lineage != lineage:
		return fmt.Errorf("%w: it was made against another state (lineage %s, now %s); run nexus plan again", ErrStalePlan, p.Lineage, lineage)
	case p.Serial == serial:
		return nil
	case p.StateDigest != "" && p.StateDigest == StateDigest(current):
		return nil
	}
	return fmt.Errorf("%w: it was made against serial %d of the state, which is now at serial %d with other modules or lifecycle states; run nexus plan again",
		ErrStalePlan, p.Serial, serial)
}

// StateDigest is the digest of what a plan assumes of a state: each
// module's address, spec (its config by digest) and lifecycle state. The
// daemon's bookkeeping (uptime, usage, restarts, errors, blobs) is left out.
func StateDigest(st *state.State) string {
	h := sha256.New()
	if st == nil {
		return "sha256:" + hex.EncodeToString(h.Sum(nil))
	}
	var buf []byte
	for _, addr := range st.Addresses() {
		m := st.Modules[addr]
		spec := m.Spec
		spec.Config = modules.Config{} // the config counts by its digest
		buf = append(buf[:0], addr...)
		buf = append(buf, 0)
		buf = append(buf, m.ConfigDigest...)
		buf = append(buf, 0)
		buf = append(buf, m.State...)
		buf = append(buf, 0)
		var err error
		if buf, err = spec.AppendJSON(buf); err != nil {
			panic(fmt.Sprintf("state digest: %v", err)) // specs are plain data
		}
		h.Write(append(buf, '\n'))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
