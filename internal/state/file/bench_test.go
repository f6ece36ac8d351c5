package file_test

import (
	"testing"

	"github.com/nexus-run/nexus/internal/state/file"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

func benchStore(b *testing.B) *file.Store {
	s, err := file.New(b.TempDir())
	statetest.Must(b, "file.New", err)
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkStore_save1000(b *testing.B)  { statetest.BenchSave(b, benchStore(b)) }
func BenchmarkStore_load1000(b *testing.B)  { statetest.BenchLoad(b, benchStore(b)) }
func BenchmarkStore_apply3000(b *testing.B) { statetest.BenchApply(b, benchStore(b)) }
