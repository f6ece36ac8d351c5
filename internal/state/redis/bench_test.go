package redis_test

import (
	"context"
	"testing"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/redis"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

func benchStore(b *testing.B) *redis.Store { return benchStoreIn(b, prefix(b)) }

func benchStoreIn(b *testing.B, prefix string) *redis.Store {
	s, err := redis.New(context.Background(), redis.Options{Addr: addr(), KeyPrefix: prefix})
	statetest.Must(b, "redis.New", err)
	b.Cleanup(func() { s.Close() })
	return s
}

// benchOpener returns a function opening Stores on one key prefix.
func benchOpener(b *testing.B) func(*testing.B) state.Store {
	p := prefix(b)
	return func(b *testing.B) state.Store { return benchStoreIn(b, p) }
}

func BenchmarkStore_save1000(b *testing.B)  { statetest.BenchSave(b, benchStore(b)) }
func BenchmarkStore_load1000(b *testing.B)  { statetest.BenchLoad(b, benchOpener(b)) }
func BenchmarkStore_apply3000(b *testing.B) { statetest.BenchApply(b, benchStore(b)) }
