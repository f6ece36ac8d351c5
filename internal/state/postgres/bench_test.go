package postgres_test

import (
	"context"
	"testing"

	"github.com/nexus-run/nexus/internal/state/postgres"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

func benchStore(b *testing.B) *postgres.Store {
	s, err := postgres.New(context.Background(), dsn(), postgres.Options{Schema: schema(b)})
	statetest.Must(b, "postgres.New", err)
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkStore_save1000(b *testing.B)  { statetest.BenchSave(b, benchStore(b)) }
func BenchmarkStore_load1000(b *testing.B)  { statetest.BenchLoad(b, benchStore(b)) }
func BenchmarkStore_apply3000(b *testing.B) { statetest.BenchApply(b, benchStore(b)) }
