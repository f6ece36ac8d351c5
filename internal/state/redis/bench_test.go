package redis_test

import (
	"context"
	"testing"

	"github.com/nexus-run/nexus/internal/state/redis"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

func benchStore(b *testing.B) *redis.Store {
	s, err := redis.New(context.Background(), redis.Options{Addr: addr(), KeyPrefix: prefix(b)})
	statetest.Must(b, "redis.New", err)
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkStore_save1000(b *testing.B)  { statetest.BenchSave(b, benchStore(b)) }
func BenchmarkStore_load1000(b *testing.B)  { statetest.BenchLoad(b, benchStore(b)) }
func BenchmarkStore_apply3000(b *testing.B) { statetest.BenchApply(b, benchStore(b)) }
