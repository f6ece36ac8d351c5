package file_test

import (
	"testing"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/file"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

func TestStore_conformance(t *testing.T) {
	dir := t.TempDir()
	statetest.Run(t, func(t *testing.T) state.Store {
		s, err := file.New(dir)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	})
}
