// Package postgres is the PostgreSQL state store (pgx/v5): one row per
// project (lineage, serial, version), one row per module record, the last N
// serials as history rows, and a lock row believed only while its session
// really holds the project's advisory lock.
//
// The store creates and migrates its own tables (see migrate.go) under an
// advisory lock, so any number of daemons may start at once. Writes are
// check-and-set on the project row's serial inside a transaction; Apply
// touches only the changed module rows. A connection lost mid-write rolls
// the transaction back; retrying the same write succeeds once the server is
// back (and a retry of a write that did commit is recognised as done).
package postgres
