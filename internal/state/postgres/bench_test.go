package postgres_test

import (
	"context"
	"testing"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/postgres"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

func benchStore(b *testing.B) *postgres.Store { return benchStoreIn(b, schema(b)) }

func benchStoreIn(b *testing.B, schema string) *postgres.Store {
	s, err := postgres.New(context.Background(), dsn(), postgres.Options{Schema: schema})
	statetest.Must(b, "postgres.New", err)
	b.Cleanup(func() { s.Close() })
	return s
}

// benchOpener returns a function opening Stores on one schema.
func benchOpener(b *testing.B) func(*testing.B) state.Store {
	sch := schema(b)
	return func(b *testing.B) state.Store { return benchStoreIn(b, sch) }
}

func BenchmarkStore_save1000(b *testing.B)  { statetest.BenchSave(b, benchStore(b)) }
func BenchmarkStore_load1000(b *testing.B)  { statetest.BenchLoad(b, benchOpener(b)) }
func BenchmarkStore_apply3000(b *testing.B) { statetest.BenchApply(b, benchStore(b)) }
