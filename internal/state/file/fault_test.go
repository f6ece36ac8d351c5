package file_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/file"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

const envDir = "NEXUS_TEST_FILE_STORE_DIR"

// TestHelperProcess is the second process of the fault tests.
func TestHelperProcess(t *testing.T) {
	statetest.Helper(t, func(context.Context) (state.Store, error) {
		return file.NewWithOptions(os.Getenv(envDir), file.Options{CompactMin: 8, CompactFactor: 1})
	})
}

func openDir(dir string) statetest.Open {
	return func(t *testing.T) state.Store {
		s, err := file.New(dir)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	}
}

func TestStore_lockRaceBetweenProcesses(t *testing.T) {
	dir := t.TempDir()
	// A flock dies with its process: the lock is free at once.
	statetest.LockRace(t, openDir(dir), "TestHelperProcess", 0, envDir+"="+dir)
}

func TestStore_killedWriterLosesNothingAcknowledged(t *testing.T) {
	dir := t.TempDir()
	statetest.KilledWriter(t, openDir(dir), "TestHelperProcess", 4, envDir+"="+dir)
}

// snapshotDir returns every file of a project directory, by name.
func snapshotDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		buf, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = buf
	}
	return out
}

func TestStore_refusesDamagedFiles(t *testing.T) {
	tests := map[string]struct {
		damage func(t *testing.T, dir string)
		want   error
		file   string
	}{
		"invalid JSON": {
			damage: func(t *testing.T, dir string) { overwrite(t, dir, "state.json", []byte(`{"version": 1, "lineage": `)) },
			want:   state.ErrCorrupt, file: "state.json",
		},
		"version 99": {
			damage: func(t *testing.T, dir string) { replaceIn(t, dir, "state.json", `"version": 1`, `"version": 99`) },
			want:   state.ErrUnsupportedVersion, file: "state.json",
		},
		"module under the wrong key": {
			damage: func(t *testing.T, dir string) {
				replaceIn(t, dir, "state.json", `"address":"module.g1.m1"`, `"address":"module.g1.m2"`)
			},
			want: state.ErrCorrupt, file: "state.json",
		},
		"journal line of bad JSON": {
			damage: func(t *testing.T, dir string) { replaceIn(t, dir, "journal.ndjson", `{"serial":3`, `{"serial":3,,`) },
			want:   state.ErrCorrupt, file: "journal.ndjson",
		},
		"journal serial gap": {
			damage: func(t *testing.T, dir string) { replaceIn(t, dir, "journal.ndjson", `{"serial":3`, `{"serial":9`) },
			want:   state.ErrCorrupt, file: "journal.ndjson",
		},
		"journal of another lineage": {
			damage: func(t *testing.T, dir string) {
				replaceIn(t, dir, "journal.ndjson", `"lineage":"`, `"lineage":"x`)
			},
			want: state.ErrCorrupt, file: "journal.ndjson",
		},
		"journal without a document": {
			damage: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "state.json")); err != nil {
					t.Fatal(err)
				}
			},
			want: state.ErrCorrupt, file: "journal.ndjson",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			s, err := file.New(root)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			project := "p"
			doc := statetest.Document(project, uuid.NewString(), 3, 1)
			if err := s.Put(ctx, doc, 0, "push"); err != nil {
				t.Fatal(err)
			}
			for prev := uint64(1); prev <= 3; prev++ {
				if err := s.Apply(ctx, project, prev, state.Change{Set: []*state.Module{statetest.Module(int(prev), prev)}}); err != nil {
					t.Fatal(err)
				}
			}
			dir := filepath.Join(root, project)
			tt.damage(t, dir)
			before := snapshotDir(t, dir)

			// The same store (whose cache must notice) and a fresh one.
			fresh, err := file.New(root)
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			for _, st := range []state.Store{s, fresh} {
				_, getErr := st.Get(ctx, project)
				next := statetest.Document(project, doc.Lineage, 3, 5)
				putErr := st.Put(ctx, next, 4, "push")
				put0Err := st.Put(ctx, statetest.Document(project, doc.Lineage, 3, 1), 0, "push")
				applyErr := st.Apply(ctx, project, 4, state.Change{Delete: []string{statetest.Address(1)}})
				apply0Err := st.Apply(ctx, project, 0, state.Change{})
				for op, err := range map[string]error{"Get": getErr, "Put": putErr, "Put with prev 0": put0Err, "Apply": applyErr, "Apply with prev 0": apply0Err} {
					if !errors.Is(err, tt.want) {
						t.Fatalf("%s:\ngot:  %v\nwant: an error wrapping %q", op, err, tt.want)
					}
					if !strings.Contains(err.Error(), filepath.Join(dir, tt.file)) {
						t.Fatalf("%s: the error does not name the file:\ngot:  %v\nwant: %s in it", op, err, filepath.Join(dir, tt.file))
					}
				}
			}
			after := snapshotDir(t, dir)
			for name, buf := range before {
				if !bytes.Equal(after[name], buf) {
					t.Fatalf("%s changed although the state is damaged", name)
				}
			}
			if len(after) != len(before) {
				t.Fatalf("files in %s:\ngot:  %d\nwant: %d (unchanged)", dir, len(after), len(before))
			}
		})
	}
}

func overwrite(t *testing.T, dir, name string, buf []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), buf, 0o600); err != nil {
		t.Fatal(err)
	}
}

func replaceIn(t *testing.T, dir, name, old, new string) {
	t.Helper()
	buf, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf, []byte(old)) {
		t.Fatalf("%s does not contain %q:\n%s", name, old, buf)
	}
	overwrite(t, dir, name, bytes.Replace(buf, []byte(old), []byte(new), 1))
}
