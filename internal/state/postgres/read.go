package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/internal/records"
)

// Get reads the project row and its module rows in one statement (one
// snapshot), and decodes the records in parallel.
func (s *Store) Get(ctx context.Context, project string) (*state.State, error) {
	if err := s.check(project); err != nil {
		return nil, err
	}
	var doc *state.State
	err := read(ctx, func() (err error) {
		doc, err = s.get(ctx, project)
		return err
	})
	if err != nil {
		return nil, s.wrap("get", project, err)
	}
	return doc, nil
}

func (s *Store) get(ctx context.Context, project string) (*state.State, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT p.lineage, p.serial, p.version, m.address, m.body
		FROM nexus_state_projects p LEFT JOIN nexus_state_modules m ON m.project = p.project
		WHERE p.project = $1`, project)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	doc := &state.State{Project: project}
	var (
		found  bool
		addrs  []string
		bodies []string
	)
	for rows.Next() {
		var (
			serial int64
			addr   *string
			body   *string
		)
		if err := rows.Scan(&doc.Lineage, &serial, &doc.Version, &addr, &body); err != nil {
			return nil, err
		}
		found, doc.Serial = true, uint64(serial)
		if addr != nil && body != nil {
			addrs, bodies = append(addrs, *addr), append(bodies, *body)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, state.ErrNotFound
	}
	if doc.Version != state.FormatVersion {
		return nil, fmt.Errorf("%w: nexus_state_projects row of %q has format version %d, this nexus reads version %d",
			state.ErrUnsupportedVersion, project, doc.Version, state.FormatVersion)
	}
	mods, err := records.Decode(addrs, bodies, func(i int) string {
		return fmt.Sprintf("nexus_state_modules row (%q, %q)", project, addrs[i])
	})
	if err != nil {
		return nil, err
	}
	doc.Modules = make(map[string]*state.Module, len(mods))
	for _, m := range mods {
		doc.Modules[m.Spec.Address] = m
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	return doc, nil
}

// History returns up to n past serials (all kept when n <= 0), newest
// first; nil when the project has none.
func (s *Store) History(ctx context.Context, project string, n int) ([]state.HistoryEntry, error) {
	if err := s.check(project); err != nil {
		return nil, err
	}
	limit := any(nil) // LIMIT NULL: no limit
	if n > 0 {
		limit = n
	}
	var out []state.HistoryEntry
	err := read(ctx, func() error {
		out = nil
		rows, err := s.pool.Query(ctx, `
			SELECT serial, lineage, time, modules, reason FROM nexus_state_history
			WHERE project = $1 ORDER BY serial DESC LIMIT $2`, project, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				h      state.HistoryEntry
				serial int64
				t      time.Time
			)
			if err := rows.Scan(&serial, &h.Lineage, &t, &h.Modules, &h.Reason); err != nil {
				return err
			}
			h.Serial, h.Time = uint64(serial), t.UTC()
			out = append(out, h)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.wrap("history", project, err)
	}
	return out, nil
}
