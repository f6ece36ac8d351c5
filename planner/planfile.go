package planner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// CheckFresh refuses a saved plan whose base state is not the current one.
func (p *Plan) CheckFresh(lineage string, serial uint64) error {
	if p.Lineage != "" && p.Lineage != lineage || p.Serial != serial {
		return fmt.Errorf("%w: it was made against serial %d of the state, which is now at serial %d; run nexus plan again",
			ErrStalePlan, p.Serial, serial)
	}
	return nil
}
