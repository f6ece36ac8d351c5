package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/nexus-run/nexus/internal/state"
)

// Defaults of Options.
const (
	DefaultHistoryLimit   = 100
	DefaultCompactFactor  = 2
	DefaultCompactMin     = 64
	DefaultCompactMaxSize = 10 << 20
)

// Options tune a Store. The zero value gives the defaults.
type Options struct {
	// HistoryLimit is how many serials history.ndjson keeps; it is trimmed
	// whenever the document is written in full. Default 100.
	HistoryLimit int
	// The journal is compacted (the document written in full, the journal
	// emptied) by the first Apply that finds it holding more than
	// max(CompactMin, CompactFactor × modules) entries, or more than
	// CompactMaxSize bytes. Defaults 2, 64 and 10 MB: reading the document
	// back then costs at most about three document decodes, while the
	// full writes stay rare enough to cost less than the fsyncs of the
	// Applies between them.
	CompactFactor  int
	CompactMin     int
	CompactMaxSize int64
}

func (o Options) withDefaults() Options {
	if o.HistoryLimit <= 0 {
		o.HistoryLimit = DefaultHistoryLimit
	}
	if o.CompactFactor <= 0 {
		o.CompactFactor = DefaultCompactFactor
	}
	if o.CompactMin <= 0 {
		o.CompactMin = DefaultCompactMin
	}
	if o.CompactMaxSize <= 0 {
		o.CompactMaxSize = DefaultCompactMaxSize
	}
	return o
}

// Store is the file state store. It is safe for concurrent use; several
// Stores, in one process or many, may share a directory.
type Store struct {
	dir  string
	opts Options

	mu       sync.Mutex
	closed   bool
	projects map[string]*project
}

// New returns a Store keeping projects under dir, which is created (0700)
// when missing.
func New(dir string) (*Store, error) { return NewWithOptions(dir, Options{}) }

// NewWithOptions is New with tuning options.
func NewWithOptions(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("file state store: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("file state store: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("file state store: create %s: %w", abs, err)
	}
	return &Store{dir: abs, opts: opts.withDefaults(), projects: map[string]*project{}}, nil
}

// Dir returns the data directory (absolute).
func (s *Store) Dir() string { return s.dir }

// project returns the handle of a project, creating it on first use.
func (s *Store) project(name string) (*project, error) {
	if err := state.CheckProject(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("file state store %s: %w", s.dir, state.ErrClosed)
	}
	p, ok := s.projects[name]
	if !ok {
		p = &project{name: name, dir: filepath.Join(s.dir, name), opts: s.opts}
		s.projects[name] = p
	}
	return p, nil
}

// Get returns the project's document: state.json with the journal replayed.
func (s *Store) Get(ctx context.Context, project string) (*state.State, error) {
	p, err := s.project(project)
	if err != nil {
		return nil, err
	}
	var out *state.State
	err = p.do(ctx, false, func() error {
		snap, err := p.refresh()
		if err != nil {
			return err
		}
		out = snap.doc.Clone()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get state of %q: %w", project, err)
	}
	return out, nil
}

// Put writes doc in full if the stored serial is prev; see state.Store.
func (s *Store) Put(ctx context.Context, doc *state.State, prev uint64, reason string) error {
	if err := state.CheckPut(doc, prev); err != nil {
		return err
	}
	p, err := s.project(doc.Project)
	if err != nil {
		return err
	}
	err = p.do(ctx, true, func() error {
		snap, err := p.refresh()
		switch {
		case errors.Is(err, state.ErrNotFound):
			if prev != 0 {
				return fmt.Errorf("%w: no state stored, want serial %d", state.ErrSerialConflict, prev)
			}
		case err != nil:
			return err
		case snap.doc.Lineage != doc.Lineage:
			return fmt.Errorf("%w: stored lineage %s, document lineage %s", state.ErrLineageMismatch, snap.doc.Lineage, doc.Lineage)
		case snap.doc.Serial != prev:
			return fmt.Errorf("%w: stored serial %d, want %d", state.ErrSerialConflict, snap.doc.Serial, prev)
		}
		return p.writeFull(doc, reason)
	})
	if err != nil {
		return fmt.Errorf("put state of %q: %w", doc.Project, err)
	}
	return nil
}

// Apply appends the change to the journal if the stored serial is prev, or
// writes the document in full when the journal is due for compaction. With
// no stored document and prev 0 it creates one with a fresh lineage.
func (s *Store) Apply(ctx context.Context, project string, prev uint64, c state.Change) error {
	if err := state.CheckChange(c); err != nil {
		return fmt.Errorf("apply to state of %q: %w", project, err)
	}
	p, err := s.project(project)
	if err != nil {
		return err
	}
	err = p.do(ctx, true, func() error { return p.apply(prev, c) })
	if err != nil {
		return fmt.Errorf("apply to state of %q: %w", project, err)
	}
	return nil
}

// History returns up to n past serials (all kept when n <= 0), newest
// first; nil when the project has none.
func (s *Store) History(ctx context.Context, project string, n int) ([]state.HistoryEntry, error) {
	p, err := s.project(project)
	if err != nil {
		return nil, err
	}
	var out []state.HistoryEntry
	err = p.do(ctx, false, func() error {
		var err error
		out, err = p.readHistory(n)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history of %q: %w", project, err)
	}
	return out, nil
}

// Close releases every lock this Store holds. Later calls fail with
// ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	projects := s.projects
	s.mu.Unlock()
	var errs []error
	for _, p := range projects {
		p.mu.Lock()
		if p.lock != nil {
			errs = append(errs, p.releaseLock())
		}
		p.mu.Unlock()
	}
	return errors.Join(errs...)
}

var _ state.Store = (*Store)(nil)
