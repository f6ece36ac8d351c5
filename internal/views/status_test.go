package views

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/modules"
)

func statusFixture(now time.Time) *api.StatusResponse {
	started := now.Add(-90 * time.Second)
	return &api.StatusResponse{Node: "host-1", Ready: true, Projects: []api.ProjectStatus{{Project: "default", Ready: true, Modules: []api.ModuleStatus{
		{ID: "synapse/bus", Kind: "exec", State: modules.StateStarted, StartedAt: &started, Restarts: 1,
			Health: modules.Health{Status: modules.StatusHealthy, Ready: true},
			Usage:  modules.Usage{CPUSeconds: 3.5, MemoryMB: 12.25, RequestsTotal: 0, ErrorsTotal: 0}},
		{ID: "vitals/heartbeat", Kind: "heartbeat", State: modules.StateStarted, StartedAt: &started,
			Health: modules.Health{Status: modules.StatusDegraded, Ready: true},
			Usage:  modules.Usage{RequestsTotal: 42, ErrorsTotal: 3}},
	}}}}
}

func TestStatusTable_wideAddsUsage(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var buf bytes.Buffer
	if err := StatusTable(&buf, statusFixture(now), StatusOptions{Wide: true, Now: now}); err != nil {
		t.Fatal(err)
	}
	want := `MODULE            KIND       STATE    HEALTH    UPTIME  RESTARTS  CPU    MEM      REQS  ERRS
synapse/bus       exec       started  healthy   1m30s   1         3.50s  12.2MiB  0     0
vitals/heartbeat  heartbeat  started  degraded  1m30s   0         -      -        42    3

2 modules on host-1, ready.
`
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestStatusTable_defaultColumnsUnchanged(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var narrow, old bytes.Buffer
	if err := StatusTable(&narrow, statusFixture(now), StatusOptions{Now: now}); err != nil {
		t.Fatal(err)
	}
	if err := Status(&old, statusFixture(now), false, now); err != nil {
		t.Fatal(err)
	}
	if narrow.String() != old.String() {
		t.Errorf("got:\n%s\nwant: Status's table\n%s", narrow.String(), old.String())
	}
	header := strings.SplitN(narrow.String(), "\n", 2)[0]
	if strings.Fields(header)[5] != "RESTARTS" || len(strings.Fields(header)) != 6 {
		t.Errorf("got header: %q\nwant: MODULE KIND STATE HEALTH UPTIME RESTARTS", header)
	}
}
