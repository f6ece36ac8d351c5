package postgres_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/postgres"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

const envSchema = "NEXUS_TEST_POSTGRES_SCHEMA"

// TestHelperProcess is the second process of the fault tests.
func TestHelperProcess(t *testing.T) {
	statetest.Helper(t, func(ctx context.Context) (state.Store, error) {
		return postgres.New(ctx, dsn(), postgres.Options{Schema: os.Getenv(envSchema)})
	})
}

func TestStore_lockRaceBetweenProcesses(t *testing.T) {
	sc := schema(t)
	// The lock goes with the killed holder's session, once the server
	// has noticed the connection closed.
	statetest.LockRace(t, opener(sc, postgres.Options{}), "TestHelperProcess", 30*time.Second, envSchema+"="+sc)
}

func TestStore_killedWriterLosesNothingAcknowledged(t *testing.T) {
	sc := schema(t)
	statetest.KilledWriter(t, opener(sc, postgres.Options{}), "TestHelperProcess", 3, envSchema+"="+sc)
}

func superConn(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestStore_terminatedBackendsMidApply kills the store's sessions with
// pg_terminate_backend while it writes a stream: each failed write must say
// what failed, a retry of the same write must succeed, and the document
// must never be half-written.
func TestStore_terminatedBackendsMidApply(t *testing.T) {
	sc := schema(t)
	app := "nexus-test-" + uuid.NewString()[:8]
	s := opener(sc, postgres.Options{ApplicationName: app})(t)
	defer s.Close()
	reader := opener(sc, postgres.Options{})(t)
	defer reader.Close()
	ctx := context.Background()
	project, lineage := "terminated", uuid.NewString()
	if err := s.Put(ctx, statetest.StreamDocument(project, lineage), 0, "push"); err != nil {
		t.Fatal(err)
	}
	const last = 120
	var (
		failures atomic.Int64
		done     = make(chan struct{})
		wg       sync.WaitGroup
	)
	wg.Go(func() {
		defer close(done)
		for serial := uint64(2); serial <= last; serial++ {
			deadline := time.Now().Add(time.Minute)
			for {
				err := statetest.WriteAt(ctx, s, project, lineage, serial)
				if err == nil {
					break
				}
				failures.Add(1)
				if errors.Is(err, state.ErrSerialConflict) || !strings.Contains(err.Error(), `state of "terminated" in postgres `) {
					t.Errorf("write %d failed unclearly or as a conflict: %v", serial, err)
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("write %d still fails after a minute: %v", serial, err)
					return
				}
			}
		}
	})
	killer := superConn(t)
	kills := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(15 * time.Millisecond):
			var n int
			err := killer.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n)
			if err != nil {
				t.Fatalf("pg_terminate_backend: %v", err)
			}
			kills += n
			if got, err := reader.Get(ctx, project); err != nil {
				t.Fatalf("Get during the stream: %v", err)
			} else if d := statetest.Diff(got, statetest.ExpectedAt(project, lineage, got.Serial)); d != "" {
				t.Fatalf("document at serial %d during the stream is half-written: %s", got.Serial, d)
			}
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if kills == 0 || failures.Load() == 0 {
		t.Fatalf("the test did not test: %d sessions terminated, %d writes failed", kills, failures.Load())
	}
	t.Logf("%d sessions terminated, %d writes failed and were retried", kills, failures.Load())
	got, err := s.Get(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	if d := statetest.Diff(got, statetest.ExpectedAt(project, lineage, last)); d != "" {
		t.Fatalf("document after the stream: %s", d)
	}
}

func TestStore_refusesDamagedRows(t *testing.T) {
	tests := map[string]struct {
		damage string
		want   error
		writes bool // Put and Apply refuse too
	}{
		"version 99": {
			damage: `UPDATE %s.nexus_state_projects SET version = 99 WHERE project = 'p'`,
			want:   state.ErrUnsupportedVersion, writes: true,
		},
		"record under another address": {
			damage: `UPDATE %s.nexus_state_modules SET body = jsonb_set(body::jsonb, '{spec,address}', '"module.x.y"')::json WHERE project = 'p' AND address = 'module.g1.m1'`,
			want:   state.ErrCorrupt,
		},
		"record in an unknown state": {
			damage: `UPDATE %s.nexus_state_modules SET body = jsonb_set(body::jsonb, '{state}', '"sleeping"')::json WHERE project = 'p' AND address = 'module.g1.m1'`,
			want:   state.ErrCorrupt,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc := schema(t)
			s := opener(sc, postgres.Options{})(t)
			defer s.Close()
			ctx := context.Background()
			doc := statetest.Document("p", uuid.NewString(), 3, 1)
			if err := s.Put(ctx, doc, 0, "push"); err != nil {
				t.Fatal(err)
			}
			conn := superConn(t)
			if _, err := conn.Exec(ctx, strings.ReplaceAll(tt.damage, "%s", pgx.Identifier{sc}.Sanitize())); err != nil {
				t.Fatal(err)
			}
			_, err := s.Get(ctx, "p")
			if !errors.Is(err, tt.want) {
				t.Fatalf("Get:\ngot:  %v\nwant: an error wrapping %q", err, tt.want)
			}
			if !tt.writes {
				return
			}
			for op, err := range map[string]error{
				"Put":   s.Put(ctx, statetest.Document("p", doc.Lineage, 3, 2), 1, "push"),
				"Apply": s.Apply(ctx, "p", 1, state.Change{Delete: []string{statetest.Address(0)}}),
			} {
				if !errors.Is(err, tt.want) {
					t.Fatalf("%s:\ngot:  %v\nwant: an error wrapping %q", op, err, tt.want)
				}
			}
			var serial, n int
			conn.QueryRow(ctx, `SELECT serial, (SELECT count(*) FROM `+pgx.Identifier{sc, "nexus_state_modules"}.Sanitize()+`) FROM `+
				pgx.Identifier{sc, "nexus_state_projects"}.Sanitize()).Scan(&serial, &n)
			if serial != 1 || n != 3 {
				t.Fatalf("after refused writes:\ngot:  serial %d, %d rows\nwant: serial 1, 3 rows", serial, n)
			}
		})
	}
}
