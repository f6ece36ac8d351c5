# A topology whose secrets live in Vault. It refers to them; it never holds
# them. Validate and plan it offline anywhere (no Vault needed):
#
#   nexus validate examples/vault
#   nexus plan --state none.json examples/vault
#
# Applying it needs a daemon started with nexusd.hcl, and in Vault (KV v2,
# mounted at kv/):
#
#   vault kv put kv/heartbeat api_key=...
#   vault kv put kv/reports token=...
#   vault kv put kv/proxy tls_key=@proxy.key

nexus {
  project = "vault-demo"
}

variable "collector_url" {
  type        = string
  default     = "http://127.0.0.1:9300/beat"
  description = "Where the heartbeat posts its beats."
}

# The key goes out as "Authorization: Bearer <key>". The heartbeat kind takes
# a rotated key in place, so on_secret_change reloads it rather than
# restarting the module.
module "vitals" "heartbeat" {
  kind = "heartbeat"
  config {
    target   = var.collector_url
    interval = "2s"
    api_key  = secret("vault", "kv/heartbeat", "api_key")
  }
  on_secret_change = "reload"
}

# A job whose process gets its token as an environment variable, resolved
# at each start; a rotated token restarts the module (the default). ($${
# writes a literal ${ for the shell: HCL would read ${ as its own.)
module "jobs" "report" {
  kind = "schedule"
  config {
    every   = "1h"
    command = ["sh", "-c", "echo \"nightly report, authenticated with a $${#REPORT_TOKEN}-character token\""]
    env = {
      REPORT_TOKEN = secret("vault", "kv/reports", "token")
    }
  }
}

# A server that reads its TLS key from a file. A rotated key is written
# anew into $NEXUS_SECRETS_DIR and the process is sent SIGHUP to read it
# again, as systemd's ExecReload=kill -HUP $MAINPID would: no restart.
module "web" "proxy" {
  kind = "exec"
  config {
    command       = ["sh", "-c", "trap 'echo reloading tls.key' HUP; while :; do sleep 1; done"]
    secret_files  = { "tls.key" = secret("vault", "kv/proxy", "tls_key") }
    reload_signal = "SIGHUP"
  }
  on_secret_change = "reload"
}
