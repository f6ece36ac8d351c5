# Daemon config for the postgres-state example: the state lives in
# PostgreSQL, so that it is backed up with the database and outlives the
# host. (A daemon on a new host also needs the old data directory's
# daemon.key and projects.json: see docs/operations.md.)
#
#   export NEXUS_STATE_DSN='postgres://nexus@db.internal:5432/nexus?sslmode=verify-full'
#   nexus daemon --config nexusd.hcl
#
# nexus creates its tables (nexus_state_projects, nexus_state_modules,
# nexus_state_history, nexus_state_locks) on first start and migrates them
# on upgrades. To keep them in a schema of their own, create the schema and
# name it in the DSN: ...?sslmode=verify-full&search_path=nexus
#
# The DSN often holds a password: keep it out of this file. env() reads it
# from the daemon's environment (with systemd: an EnvironmentFile readable
# only by the nexus user).

daemon {
  data_dir = ".nexus"
  node     = "pg-example-host"
}

listener "unix" {
  path = ".nexus/nexus.sock"
}

listener "tcp" {
  address = "127.0.0.1:7420"
}

# One state store per daemon. Writes are check-and-set on the document's
# serial; the per-project lock is a pg_try_advisory_lock held on its own
# connection, so a daemon that dies releases it with its connection.
state "postgres" {
  dsn = env("NEXUS_STATE_DSN")
}
