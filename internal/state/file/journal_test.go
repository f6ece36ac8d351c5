package file_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/file"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

// setup returns a store with project "p" at serial 1 (3 modules) plus
// applies more Applies, and the expected document.
func setup(t *testing.T, opts file.Options, applies int) (*file.Store, string, *state.State) {
	t.Helper()
	root := t.TempDir()
	s, err := file.NewWithOptions(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	want := statetest.Document("p", uuid.NewString(), 3, 1)
	if err := s.Put(context.Background(), want.Clone(), 0, "push"); err != nil {
		t.Fatal(err)
	}
	for prev := uint64(1); prev <= uint64(applies); prev++ {
		c := state.Change{Set: []*state.Module{statetest.Module(int(prev%5), prev)}}
		if err := s.Apply(context.Background(), "p", prev, c); err != nil {
			t.Fatal(err)
		}
		want.Apply(c)
		want.Serial = prev + 1
	}
	return s, filepath.Join(root, "p"), want
}

func mustGet(t *testing.T, s state.Store) *state.State {
	t.Helper()
	got, err := s.Get(context.Background(), "p")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return got
}

func TestStore_tornJournalLineIsIgnoredThenCut(t *testing.T) {
	s, dir, want := setup(t, file.Options{}, 3)
	torn := []byte(`{"serial":5,"lineage":"` + want.Lineage + `","set":[{"spec":{"addr`)
	f, err := os.OpenFile(filepath.Join(dir, "journal.ndjson"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(torn)
	f.Close()
	for _, st := range []state.Store{s, reopen(t, dir)} {
		if d := statetest.Diff(mustGet(t, st), want); d != "" {
			t.Fatalf("Get over a torn line: %s", d)
		}
	}
	c := state.Change{Delete: []string{statetest.Address(0)}}
	if err := reopen(t, dir).Apply(context.Background(), "p", 4, c); err != nil {
		t.Fatalf("Apply after a torn line: %v", err)
	}
	want.Apply(c)
	want.Serial = 5
	buf, _ := os.ReadFile(filepath.Join(dir, "journal.ndjson"))
	if bytes.Contains(buf, torn) {
		t.Fatalf("the torn line is still in the journal:\n%s", buf)
	}
	for _, st := range []state.Store{s, reopen(t, dir)} {
		if d := statetest.Diff(mustGet(t, st), want); d != "" {
			t.Fatalf("Get after an Apply over a torn line: %s", d)
		}
	}
}

// A compaction that crashed after replacing state.json but before emptying
// the journal leaves entries the document already holds.
func TestStore_staleJournalEntriesAreSkipped(t *testing.T) {
	s, dir, want := setup(t, file.Options{}, 3)
	journal, err := os.ReadFile(filepath.Join(dir, "journal.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	buf, _ := state.Encode(want)
	os.WriteFile(filepath.Join(dir, "state.json"), buf, 0o600)
	if n := bytes.Count(journal, []byte{'\n'}); n != 3 {
		t.Fatalf("journal lines:\ngot:  %d\nwant: 3", n)
	}
	for _, st := range []state.Store{s, reopen(t, dir)} {
		if d := statetest.Diff(mustGet(t, st), want); d != "" {
			t.Fatalf("Get over stale entries: %s", d)
		}
	}
	c := state.Change{Set: []*state.Module{statetest.Module(9, 9)}}
	if err := s.Apply(context.Background(), "p", 4, c); err != nil {
		t.Fatalf("Apply after stale entries: %v", err)
	}
	want.Apply(c)
	want.Serial = 5
	if d := statetest.Diff(mustGet(t, reopen(t, dir)), want); d != "" {
		t.Fatalf("Get after an Apply over stale entries: %s", d)
	}
}

func TestStore_compactsAndKeepsBackup(t *testing.T) {
	// Five modules, five journal entries: the next Apply compacts.
	s, dir, want := setup(t, file.Options{CompactMin: 4, CompactFactor: 1, HistoryLimit: 5}, 5)
	if lines := countLines(t, filepath.Join(dir, "journal.ndjson")); lines != 5 || len(want.Modules) != 5 {
		t.Fatalf("before compaction:\ngot:  %d journal lines, %d modules\nwant: 5 and 5", lines, len(want.Modules))
	}
	c := state.Change{Set: []*state.Module{statetest.Module(1, 7)}}
	if err := s.Apply(context.Background(), "p", 6, c); err != nil {
		t.Fatal(err)
	}
	want.Apply(c)
	want.Serial = 7
	if lines := countLines(t, filepath.Join(dir, "journal.ndjson")); lines != 0 {
		t.Fatalf("journal lines after compaction:\ngot:  %d\nwant: 0", lines)
	}
	buf, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	doc, err := state.Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	if d := statetest.Diff(doc, want); d != "" {
		t.Fatalf("state.json after compaction: %s", d)
	}
	buf, _ = os.ReadFile(filepath.Join(dir, "state.json.backup"))
	backup, err := state.Decode(buf)
	if err != nil || backup.Serial != 1 {
		t.Fatalf("backup after compaction:\ngot:  %v\nwant: the document state.json held before (serial 1)", err)
	}
	if d := statetest.Diff(mustGet(t, reopen(t, dir)), want); d != "" {
		t.Fatalf("Get after compaction: %s", d)
	}
	if lines := countLines(t, filepath.Join(dir, "history.ndjson")); lines != 5 {
		t.Fatalf("history lines after compaction (limit 5):\ngot:  %d\nwant: 5", lines)
	}
	if h, _ := s.History(context.Background(), "p", 0); len(h) != 5 || h[0].Serial != 7 {
		t.Fatalf("History after compaction:\ngot:  %+v\nwant: serials 7 down to 3", h)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		switch e.Name() {
		case "state.json", "state.json.backup", "journal.ndjson", "history.ndjson":
		default:
			t.Fatalf("unexpected file left in %s: %s", dir, e.Name())
		}
		if info, _ := e.Info(); info.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode:\ngot:  %v\nwant: 0600", e.Name(), info.Mode().Perm())
		}
	}
}

func TestNew_needsDirectory(t *testing.T) {
	if _, err := file.New(""); err == nil {
		t.Fatalf("New(\"\"): got no error")
	}
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, nil, 0o600)
	if _, err := file.New(f); err == nil {
		t.Fatalf("New(a regular file): got no error")
	}
}

func reopen(t *testing.T, dir string) *file.Store {
	t.Helper()
	s, err := file.New(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	buf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(buf, []byte{'\n'})
}
