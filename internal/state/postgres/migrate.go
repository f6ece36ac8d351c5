package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nexus-run/nexus/internal/state"
)

// migrations are applied in order, each once; nexus_schema_migrations holds
// the versions applied. Append only: never edit a released migration.
var migrations = []string{
	// 1: the state tables.
	`CREATE TABLE nexus_state_projects (
		project    text PRIMARY KEY,
		lineage    text NOT NULL,
		serial     bigint NOT NULL,
		version    integer NOT NULL,
		last_write text NOT NULL DEFAULT '',
		updated_at timestamptz NOT NULL DEFAULT now()
	);
	CREATE TABLE nexus_state_modules (
		project text NOT NULL REFERENCES nexus_state_projects (project) ON DELETE CASCADE,
		address text NOT NULL,
		body    jsonb NOT NULL,
		PRIMARY KEY (project, address)
	);
	CREATE TABLE nexus_state_history (
		project text NOT NULL,
		serial  bigint NOT NULL,
		lineage text NOT NULL,
		time    timestamptz NOT NULL,
		modules integer NOT NULL,
		reason  text NOT NULL DEFAULT '',
		PRIMARY KEY (project, serial)
	);
	CREATE TABLE nexus_state_locks (
		project     text PRIMARY KEY,
		id          text NOT NULL,
		operation   text NOT NULL,
		who         text NOT NULL,
		node        text NOT NULL,
		created     timestamptz NOT NULL,
		backend_pid integer NOT NULL
	);`,
	// 2: records as json, not jsonb: nothing queries inside them, and json
	// keeps the text as written (the state codec's canonical form) where
	// jsonb re-encodes every record on the way in and out.
	`ALTER TABLE nexus_state_modules ALTER COLUMN body TYPE json USING body::json;`,
}

// migrate brings the schema up to date inside one transaction holding an
// advisory lock, so that concurrent starts migrate once and in order.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	// The one-bigint key space is apart from the two-int4 one of project locks.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::bigint)`, int64(lockNamespace(schema))); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	if schema != "" {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("create schema %s: %w", schema, err)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS nexus_schema_migrations (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("create nexus_schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM nexus_schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("%w: the database schema is at version %d, this nexus knows up to %d; upgrade nexus",
			state.ErrUnsupportedVersion, current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO nexus_schema_migrations (version) VALUES ($1)`, v); err != nil {
			return fmt.Errorf("record migration %d: %w", v, err)
		}
	}
	return tx.Commit(ctx)
}
