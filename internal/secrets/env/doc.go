// Package env is the read-only secret provider that reads environment
// variables: the daemon's `secrets "env" "<name>" { prefix = "…" }` block,
// for hosts where a supervisor (systemd credentials, a container runtime, a
// CI runner) already hands secrets to the daemon's environment.
//
// A path maps to one variable: the prefix followed by the path upper-cased,
// with every character other than an ASCII letter or digit turned into one
// '_'. With prefix "NEXUS_SECRET_", secret("env", "db/password") reads
// NEXUS_SECRET_DB_PASSWORD. Different paths can map to the same variable
// ("db/password" and "db-password"); that is the price of valid variable
// names. With a key, the variable holds a JSON object and the key selects a
// field: secret("env", "db", "password") reads the "password" field of
// NEXUS_SECRET_DB.
//
// The environment cannot be listed by prefix without exposing unrelated
// variables' names, and a daemon should not rewrite its own environment, so
// the provider is neither a secrets.Lister nor a secrets.Writer.
package env
