package redis_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/redis"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

// addr is the test server: NEXUS_TEST_REDIS_ADDR, or the local default.
func addr() string {
	if a := os.Getenv("NEXUS_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// prefix returns a new key prefix on the test server, whose keys are
// deleted when the test ends. It fails the test, saying how to start
// Redis, when the server cannot be reached: CI must never skip silently.
func prefix(t testing.TB) string {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("Redis is not reachable at %s (%v).\nStart it (e.g. `redis-server --daemonize yes`), or point NEXUS_TEST_REDIS_ADDR at a server.", addr(), err)
	}
	p := "nexustest-" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	t.Cleanup(func() {
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, p+":*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return p
}

func opener(opts redis.Options) statetest.Open {
	return func(t *testing.T) state.Store {
		s, err := redis.New(context.Background(), opts)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	}
}

func TestStore_conformance(t *testing.T) {
	statetest.Run(t, opener(redis.Options{Addr: addr(), KeyPrefix: prefix(t)}))
}

// TestStore_lockIsRenewed holds a lock for many TTLs: renewal must keep
// it, and Unlock must stop the renewal and delete the key.
func TestStore_lockIsRenewed(t *testing.T) {
	p := prefix(t)
	ttl := time.Second
	s := opener(redis.Options{Addr: addr(), KeyPrefix: p, LockTTL: ttl})(t)
	defer s.Close()
	other := opener(redis.Options{Addr: addr(), KeyPrefix: p, LockTTL: ttl})(t)
	defer other.Close()
	ctx := context.Background()
	info := state.LockInfo{ID: "id-1", Who: "me", Operation: "apply", Created: time.Now().UTC()}
	if err := s.Lock(ctx, "p", info); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(3 * ttl); time.Now().Before(end); time.Sleep(ttl / 5) {
		if h, err := other.LockHolder(ctx, "p"); err != nil || h.ID != "id-1" {
			t.Fatalf("LockHolder %s after Lock:\ngot:  %+v, %v\nwant: id-1 (renewed)", time.Since(info.Created), h, err)
		}
	}
	if err := s.Unlock(ctx, "p", "id-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.LockHolder(ctx, "p"); err == nil {
		t.Fatalf("LockHolder after Unlock: got a holder")
	}
}

func TestNew_refusedConnectionNamesAddress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := redis.New(ctx, redis.Options{Addr: "127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("New on a closed port:\ngot:  %v\nwant: an error naming 127.0.0.1:1", err)
	}
}
