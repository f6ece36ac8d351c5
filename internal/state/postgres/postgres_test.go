package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/postgres"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

// dsn is the test server: NEXUS_TEST_POSTGRES_DSN, or the local default.
func dsn() string {
	if d := os.Getenv("NEXUS_TEST_POSTGRES_DSN"); d != "" {
		return d
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// need fails the test, saying how to start the server, when PostgreSQL
// cannot be reached: CI must never skip these tests silently.
func need(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn())
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable (%v).\nStart it (e.g. `service postgresql start`, trust auth for user postgres, "+
			"`createdb -U postgres test`), or point NEXUS_TEST_POSTGRES_DSN at a server.", err)
	}
	conn.Close(ctx)
}

// schema returns a new schema name, dropped when the test ends.
func schema(t testing.TB) string {
	t.Helper()
	need(t)
	name := "nexus_test_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn())
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

func opener(schema string, opts postgres.Options) statetest.Open {
	opts.Schema = schema
	return func(t *testing.T) state.Store {
		s, err := postgres.New(context.Background(), dsn(), opts)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	}
}

func TestStore_conformance(t *testing.T) {
	statetest.Run(t, opener(schema(t), postgres.Options{}))
}

func TestNew_migratesOnceWhenStartedTogether(t *testing.T) {
	sc := schema(t)
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			s, err := postgres.New(context.Background(), dsn(), postgres.Options{Schema: sc})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent New: %v", err)
		}
	}
	// And again, on a migrated schema.
	s := opener(sc, postgres.Options{})(t)
	defer s.Close()
	conn, err := pgx.Connect(context.Background(), dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions []int
	rows, _ := conn.Query(context.Background(), `SELECT version FROM `+pgx.Identifier{sc, "nexus_schema_migrations"}.Sanitize()+` ORDER BY version`)
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil || fmt.Sprint(versions) != "[1 2]" {
		t.Fatalf("nexus_schema_migrations:\ngot:  %v, %v\nwant: [1 2]", versions, err)
	}
}

func TestNew_refusedConnectionNamesAddress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := postgres.New(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable", postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("New on a closed port:\ngot:  %v\nwant: an error naming 127.0.0.1:1", err)
	}
	_, err = postgres.New(ctx, "postgres://postgres:s3cret@127.0.0.1:1/test?sslmode=disable", postgres.Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("New with a password in the DSN:\ngot:  %v\nwant: an error without the password", err)
	}
}
