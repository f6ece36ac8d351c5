# A topology whose state the daemon keeps in PostgreSQL (see nexusd.hcl).
# Nothing here names the store: the same topology runs against the file,
# postgres or redis store; the daemon's config decides.
#
#   nexus validate examples/postgres-state
#   nexus plan --state none.json examples/postgres-state     # offline
#   nexus apply examples/postgres-state                      # through the daemon

nexus {
  project = "pg-demo"
}

variable "postgres_addr" {
  type        = string
  default     = "127.0.0.1:5432"
  description = "The database the worker needs, as host:port."
}

# A gate: ready while PostgreSQL accepts connections. The worker depends on
# it, so it starts only once the database is up.
module "db" "reachable" {
  kind = "probe"
  config {
    tcp      = var.postgres_addr
    interval = "5s"
  }
}

module "app" "worker" {
  kind       = "exec"
  depends_on = [module.db.reachable]
  config {
    command = ["sleep", "infinity"] # stands in for a service that uses the database
  }
  restart {
    policy  = "always"
    backoff = "2s"
  }
}
