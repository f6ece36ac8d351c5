# Daemon config for the vault example: secrets come from HashiCorp Vault,
# read with an AppRole login. Run it from this directory:
#
#   export VAULT_ADDR=https://vault.example.com:8200
#   export VAULT_ROLE_ID=...                       # not a secret on its own
#   export VAULT_SECRET_ID_FILE=/run/secrets/vault-secret-id
#   nexus daemon --config nexusd.hcl
#
# The daemon logs in at start, renews its token while it runs, and reads a
# secret only when a module that refers to it starts or is reconfigured. A
# value never leaves the daemon: plans, state, logs, the audit log and the
# API only ever show the reference, like (secret: vault kv/heartbeat#api_key).

daemon {
  data_dir = ".nexus"
  # How often the daemon checks referenced secrets for rotation; a module
  # whose secret changed is restarted or reloaded (its on_secret_change).
  secret_check_interval = "1m"
}

listener "unix" {
  path = ".nexus/nexus.sock"
}

listener "tcp" {
  address = "127.0.0.1:7420" # /metrics, /healthz, /readyz and the token API
}

# The provider is named "vault": topologies refer to it as
# secret("vault", "<mount>/<path>", "<key>").
secrets "vault" "vault" {
  address = env("VAULT_ADDR")
  auth "approle" {
    role_id        = env("VAULT_ROLE_ID")
    secret_id_file = env("VAULT_SECRET_ID_FILE")
  }
  # Instead of AppRole, a token: token = env("VAULT_TOKEN"), or token_file.
  # The KV version is found from the mount; kv_version = 2 pins it.
  # With a private CA: ca_cert = "/etc/nexus/vault-ca.pem".
}
