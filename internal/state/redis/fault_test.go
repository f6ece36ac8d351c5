package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/redis"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

const envPrefix = "NEXUS_TEST_REDIS_PREFIX"

// helperTTL is the lock TTL of helper processes: a killed holder's lock
// is free again this long after its last renewal.
const helperTTL = 2 * time.Second

// TestHelperProcess is the second process of the fault tests.
func TestHelperProcess(t *testing.T) {
	statetest.Helper(t, func(ctx context.Context) (state.Store, error) {
		return redis.New(ctx, redis.Options{Addr: addr(), KeyPrefix: os.Getenv(envPrefix), LockTTL: helperTTL})
	})
}

func TestStore_lockRaceBetweenProcesses(t *testing.T) {
	p := prefix(t)
	statetest.LockRace(t, opener(redis.Options{Addr: addr(), KeyPrefix: p}), "TestHelperProcess", 30*time.Second, envPrefix+"="+p)
}

func TestStore_killedWriterLosesNothingAcknowledged(t *testing.T) {
	p := prefix(t)
	statetest.KilledWriter(t, opener(redis.Options{Addr: addr(), KeyPrefix: p}), "TestHelperProcess", 3, envPrefix+"="+p)
}

// server is a private redis-server persisting every write (AOF, fsync
// always) in a temp dir, so it can be killed and restarted.
type server struct {
	addr, dir string
	cmd       *exec.Cmd
}

func startServer(t *testing.T) *server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not on PATH: install Redis (e.g. `apt-get install redis-server`)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{addr: l.Addr().String(), dir: t.TempDir()}
	l.Close()
	srv.start(t)
	t.Cleanup(srv.kill)
	return srv
}

func (srv *server) start(t *testing.T) {
	t.Helper()
	_, port, _ := net.SplitHostPort(srv.addr)
	srv.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", srv.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no")
	if err := srv.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: srv.addr, MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(30 * time.Second); c.Ping(context.Background()).Err() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer within 30s", srv.addr)
		}
	}
}

func (srv *server) kill() {
	if srv.cmd != nil && srv.cmd.ProcessState == nil {
		srv.cmd.Process.Kill()
		srv.cmd.Wait()
	}
}

// TestStore_serverRestartedMidApply kills and restarts Redis twice while a
// writer streams Applies and Puts: writes fail cleanly while it is down,
// the same write succeeds once it is back, and no document read at any
// point is half-written.
func TestStore_serverRestartedMidApply(t *testing.T) {
	srv := startServer(t)
	s := opener(redis.Options{Addr: srv.addr, DialTimeout: time.Second})(t)
	defer s.Close()
	ctx := context.Background()
	project, lineage := "restarted", uuid.NewString()
	if err := s.Put(ctx, statetest.StreamDocument(project, lineage), 0, "push"); err != nil {
		t.Fatal(err)
	}
	const last = 120
	var (
		serial   atomic.Uint64
		failures atomic.Int64
		wg       sync.WaitGroup
	)
	serial.Store(1)
	wg.Go(func() {
		for n := uint64(2); n <= last; n++ {
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
				err := statetest.WriteAt(ctx, s, project, lineage, n)
				if err == nil {
					break
				}
				failures.Add(1)
				if errors.Is(err, state.ErrSerialConflict) || !strings.Contains(err.Error(), "redis "+srv.addr) {
					t.Errorf("write %d failed unclearly or as a conflict: %v", n, err)
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("write %d still fails after a minute: %v", n, err)
					return
				}
			}
			serial.Store(n)
		}
	})
	for _, at := range []uint64{30, 80} {
		waitFor(t, fmt.Sprintf("the writer to reach serial %d", at), func() bool { return serial.Load() >= at || t.Failed() })
		srv.kill()
		before := failures.Load()
		waitFor(t, "a write to fail while Redis is down", func() bool { return failures.Load() > before || t.Failed() })
		if _, err := s.Get(ctx, project); err == nil || !strings.Contains(err.Error(), srv.addr) {
			t.Fatalf("Get while Redis is down:\ngot:  %v\nwant: an error naming %s", err, srv.addr)
		}
		srv.start(t)
		got, err := s.Get(ctx, project)
		if err != nil {
			t.Fatalf("Get after the restart: %v", err)
		}
		if d := statetest.Diff(got, statetest.ExpectedAt(project, lineage, got.Serial)); d != "" {
			t.Fatalf("document at serial %d after the restart is half-written: %s", got.Serial, d)
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d writes failed while Redis was down and were retried", failures.Load())
	got, err := s.Get(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	if d := statetest.Diff(got, statetest.ExpectedAt(project, lineage, last)); d != "" {
		t.Fatalf("document after the stream: %s", d)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestStore_refusesDamagedKeys(t *testing.T) {
	tests := map[string]struct {
		damage func(c *goredis.Client, meta, modules string)
		want   error
		writes bool // Put and Apply refuse too
	}{
		"version 99": {
			damage: func(c *goredis.Client, meta, _ string) { c.HSet(context.Background(), meta, "version", "99") },
			want:   state.ErrUnsupportedVersion, writes: true,
		},
		"record of invalid JSON": {
			damage: func(c *goredis.Client, _, modules string) {
				c.HSet(context.Background(), modules, statetest.Address(1), `{"spec":`)
			},
			want: state.ErrCorrupt,
		},
		"meta missing": {
			damage: func(c *goredis.Client, meta, _ string) { c.Del(context.Background(), meta) },
			want:   state.ErrCorrupt, writes: true,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := prefix(t)
			s := opener(redis.Options{Addr: addr(), KeyPrefix: p})(t)
			defer s.Close()
			ctx := context.Background()
			doc := statetest.Document("p", uuid.NewString(), 3, 1)
			if err := s.Put(ctx, doc, 0, "push"); err != nil {
				t.Fatal(err)
			}
			c := goredis.NewClient(&goredis.Options{Addr: addr()})
			defer c.Close()
			meta, modules := p+":{p}:meta", p+":{p}:modules"
			tt.damage(c, meta, modules)
			dump := func() []any {
				return []any{c.HGetAll(ctx, meta).Val(), c.HGetAll(ctx, modules).Val(), c.LRange(ctx, p+":{p}:history", 0, -1).Val()}
			}
			before := dump()
			_, err := s.Get(ctx, "p")
			if !errors.Is(err, tt.want) {
				t.Fatalf("Get:\ngot:  %v\nwant: an error wrapping %q", err, tt.want)
			}
			if !tt.writes {
				return
			}
			for op, err := range map[string]error{
				"Put":               s.Put(ctx, statetest.Document("p", doc.Lineage, 3, 2), 1, "push"),
				"Put with prev 0":   s.Put(ctx, statetest.Document("p", doc.Lineage, 3, 1), 0, "push"),
				"Apply":             s.Apply(ctx, "p", 1, state.Change{Delete: []string{statetest.Address(0)}}),
				"Apply with prev 0": s.Apply(ctx, "p", 0, state.Change{}),
			} {
				if !errors.Is(err, tt.want) {
					t.Fatalf("%s:\ngot:  %v\nwant: an error wrapping %q", op, err, tt.want)
				}
			}
			if after := dump(); !reflect.DeepEqual(after, before) {
				t.Fatalf("keys changed by refused writes")
			}
		})
	}
}
