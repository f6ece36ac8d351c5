package redis_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"reflect"
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
	restart := func(at uint64) statetest.Outage {
		return statetest.Outage{At: at, Name: "SIGKILL", Stop: srv.kill, Start: func() { srv.start(t) }}
	}
	statetest.ServerRestarted(t, s, "redis "+srv.addr, restart(30), restart(80))
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
