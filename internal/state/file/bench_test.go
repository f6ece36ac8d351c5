package file_test

import (
	"testing"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/file"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

func benchStore(b *testing.B) *file.Store { return benchStoreIn(b, b.TempDir()) }

func benchStoreIn(b *testing.B, dir string) *file.Store {
	s, err := file.New(dir)
	statetest.Must(b, "file.New", err)
	b.Cleanup(func() { s.Close() })
	return s
}

// benchOpener returns a function opening Stores on one directory.
func benchOpener(b *testing.B) func(*testing.B) state.Store {
	dir := b.TempDir()
	return func(b *testing.B) state.Store { return benchStoreIn(b, dir) }
}

func BenchmarkStore_save1000(b *testing.B)  { statetest.BenchSave(b, benchStore(b)) }
func BenchmarkStore_load1000(b *testing.B)  { statetest.BenchLoad(b, benchOpener(b)) }
func BenchmarkStore_apply3000(b *testing.B) { statetest.BenchApply(b, benchStore(b)) }
