package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/internal/records"
)

// Get reads meta and the module records in one MULTI/EXEC (one snapshot)
// and decodes the records in parallel.
func (s *Store) Get(ctx context.Context, project string) (*state.State, error) {
	if err := s.check(project); err != nil {
		return nil, err
	}
	doc, err := s.get(ctx, project)
	if err != nil {
		return nil, s.wrap("get", project, err)
	}
	return doc, nil
}

func (s *Store) get(ctx context.Context, project string) (*state.State, error) {
	k := s.keys(project)
	var metaCmd, modsCmd *goredis.MapStringStringCmd
	_, err := s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		metaCmd, modsCmd = p.HGetAll(ctx, k.meta), p.HGetAll(ctx, k.modules)
		return nil
	})
	if err != nil {
		return nil, err
	}
	meta, mods := metaCmd.Val(), modsCmd.Val()
	if len(meta) == 0 {
		if len(mods) > 0 {
			return nil, fmt.Errorf("%w: %s holds %d records but %s is missing (evicted? Redis must run with maxmemory-policy noeviction)",
				state.ErrCorrupt, k.modules, len(mods), k.meta)
		}
		return nil, state.ErrNotFound
	}
	doc := &state.State{Project: project, Lineage: meta["lineage"], Modules: make(map[string]*state.Module, len(mods))}
	if doc.Version, err = strconv.Atoi(meta["version"]); err != nil || doc.Version != state.FormatVersion {
		return nil, fmt.Errorf("%w: %s has format version %q, this nexus reads version %d", state.ErrUnsupportedVersion, k.meta, meta["version"], state.FormatVersion)
	}
	if doc.Serial, err = strconv.ParseUint(meta["serial"], 10, 64); err != nil {
		return nil, fmt.Errorf("%w: %s has serial %q", state.ErrCorrupt, k.meta, meta["serial"])
	}
	addrs, bodies := make([]string, 0, len(mods)), make([]string, 0, len(mods))
	for a, b := range mods {
		addrs, bodies = append(addrs, a), append(bodies, b)
	}
	recs, err := records.Decode(addrs, bodies, func(i int) string { return fmt.Sprintf("%s field %q", k.modules, addrs[i]) })
	if err != nil {
		return nil, err
	}
	for _, m := range recs {
		doc.Modules[m.Spec.Address] = m
	}
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", k.meta, err)
	}
	return doc, nil
}

// Put replaces the document with one script: check-and-set on serial and
// lineage, then the records, meta and history.
func (s *Store) Put(ctx context.Context, doc *state.State, prev uint64, reason string) error {
	if err := state.CheckPut(doc, prev); err != nil {
		return err
	}
	if err := s.check(doc.Project); err != nil {
		return err
	}
	addrs := doc.Addresses()
	mods := make([]*state.Module, len(addrs))
	for i, a := range addrs {
		mods[i] = doc.Modules[a]
	}
	bodies, err := records.Encode(mods)
	if err != nil {
		return fmt.Errorf("put state of %q: %w", doc.Project, err)
	}
	args := s.writeArgs(prev, doc.Lineage, records.Digest(prev, "put:"+doc.Lineage, bodies...), reason, 2*len(mods))
	for i, a := range addrs {
		args = append(args, a, bodies[i])
	}
	if err := s.run(ctx, putScript, doc.Project, args); err != nil {
		return s.wrap("put", doc.Project, err)
	}
	return nil
}

// Apply writes the change with one script: check-and-set on serial, then
// only the changed fields, meta and history. With prev 0 and no document
// it creates one with a fresh lineage.
func (s *Store) Apply(ctx context.Context, project string, prev uint64, c state.Change) error {
	if err := state.CheckChange(c); err != nil {
		return fmt.Errorf("apply to state of %q: %w", project, err)
	}
	if err := s.check(project); err != nil {
		return err
	}
	set := records.Dedup(c.Set)
	bodies, err := records.Encode(set)
	if err != nil {
		return fmt.Errorf("apply to state of %q: %w", project, err)
	}
	digest := records.Digest(prev, "apply", append(bodies, []byte(strings.Join(c.Delete, "\n")))...)
	args := s.writeArgs(prev, uuid.NewString(), digest, "apply", 1+2*len(set)+len(c.Delete))
	args = append(args, len(set))
	for i, m := range set {
		args = append(args, m.Spec.Address, bodies[i])
	}
	for _, a := range c.Delete {
		args = append(args, a)
	}
	if err := s.run(ctx, applyScript, project, args); err != nil {
		return s.wrap("apply to", project, err)
	}
	return nil
}

// writeArgs returns ARGV[1..7] of the write scripts, with room for more.
func (s *Store) writeArgs(prev uint64, lineage, digest, reason string, more int) []any {
	now, _ := json.Marshal(time.Now().UTC())
	why, _ := json.Marshal(reason)
	args := make([]any, 0, 7+more)
	return append(args, strconv.FormatUint(prev, 10), strconv.FormatUint(prev+1, 10), lineage,
		strconv.Itoa(state.FormatVersion), digest, `"time":`+string(now)+`,"reason":`+string(why), s.opts.HistoryLimit)
}

// run runs a write script and turns its status into an error.
func (s *Store) run(ctx context.Context, script *goredis.Script, project string, args []any) error {
	k := s.keys(project)
	res, err := script.Run(ctx, s.client, []string{k.meta, k.modules, k.history}, args...).StringSlice()
	if err != nil {
		return err
	}
	if len(res) != 2 {
		return fmt.Errorf("unexpected script reply %q", res)
	}
	switch status, detail := res[0], res[1]; status {
	case "ok", "done":
		return nil
	case "conflict":
		return fmt.Errorf("%w: stored serial %s, want %s", state.ErrSerialConflict, detail, args[0])
	case "lineage":
		return fmt.Errorf("%w: stored lineage %s, document lineage %s", state.ErrLineageMismatch, detail, args[2])
	case "version":
		return fmt.Errorf("%w: %s has format version %q, this nexus writes version %d", state.ErrUnsupportedVersion, k.meta, detail, state.FormatVersion)
	case "orphan":
		return fmt.Errorf("%w: %s exists but %s is missing (evicted? Redis must run with maxmemory-policy noeviction)", state.ErrCorrupt, k.modules, k.meta)
	default:
		return fmt.Errorf("unexpected script reply %q", res)
	}
}

// History returns up to n past serials (all kept when n <= 0), newest
// first; nil when the project has none. Entries that do not parse are
// skipped.
func (s *Store) History(ctx context.Context, project string, n int) ([]state.HistoryEntry, error) {
	if err := s.check(project); err != nil {
		return nil, err
	}
	stop := int64(n) - 1
	if n <= 0 {
		stop = -1
	}
	lines, err := s.client.LRange(ctx, s.keys(project).history, 0, stop).Result()
	if err != nil {
		return nil, s.wrap("history", project, err)
	}
	var out []state.HistoryEntry
	for _, l := range lines {
		var h state.HistoryEntry
		if json.Unmarshal([]byte(l), &h) == nil {
			out = append(out, h)
		}
	}
	return out, nil
}
