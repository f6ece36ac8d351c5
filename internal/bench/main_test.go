package bench

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes the nexus binary the end-to-end benchmarks built.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildBin != "" {
		os.RemoveAll(filepath.Dir(buildBin))
	}
	os.Exit(code)
}
