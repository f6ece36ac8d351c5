package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nexus-run/nexus/internal/daemoncfg"
)

// TestDaemon_recoversFileStoreProjectsWithoutProjectsJSON restores a data
// dir without projects.json: with the file store, which is this host's
// alone, the daemon still brings back every project it holds.
func TestDaemon_recoversFileStoreProjectsWithoutProjectsJSON(t *testing.T) {
	h := startHarness(t, nil)
	c := h.admin()
	resp := plan(t, c, "nexus {\n  project = \"restored\"\n}\nmodule \"a\" \"x\" {\n  kind = \"target\"\n}\n")
	if _, err := apply(t, c, resp); err != nil {
		t.Fatal(err)
	}
	h.stop()
	if err := os.Remove(filepath.Join(h.dataDir, "projects.json")); err != nil {
		t.Fatal(err)
	}

	h2 := startHarness(t, func(cfg *daemoncfg.Config) {
		cfg.DataDir = h.dataDir
		cfg.State.Path = filepath.Join(h.dataDir, "state")
		cfg.Audit.Path = filepath.Join(h.dataDir, "audit2.log")
		cfg.Secrets[0].Dir = filepath.Join(h.dataDir, "secrets")
	})
	st, err := h2.admin().Status(context.Background(), "restored")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Projects) != 1 || len(st.Projects[0].Modules) != 1 || st.Projects[0].Modules[0].State != "started" || st.Projects[0].Modules[0].Health.Status != "healthy" {
		t.Errorf("got %+v, want module.a.x of project restored started again", st.Projects)
	}
}
