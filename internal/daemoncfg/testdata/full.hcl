daemon {
  data_dir = "/var/lib/nexus"
  node     = "host-1"
}

listener "unix" {
  path = "/run/nexus/nexus.sock"
  mode = "0660"
}

listener "tcp" {
  address = "0.0.0.0:7420"
  tls {
    cert_file      = "/etc/nexus/tls/cert.pem"
    key_file       = "/etc/nexus/tls/key.pem"
    client_ca_file = "/etc/nexus/tls/ca.pem"
  }
}

state "postgres" { dsn = env("NEXUS_STATE_DSN") }

secrets "vault" "vault" {
  address = "https://vault.example.com:8200"
  auth "approle" {
    role_id        = env("VAULT_ROLE_ID")
    secret_id_file = "/run/secrets/vault-secret-id"
  }
}

secrets "file" "file" { dir = "/etc/nexus/secrets" }
secrets "env" "env" { prefix = "NEXUS_SECRET_" }

role "operator" { permissions = ["plan", "apply", "module.*", "heartbeat.send"] }
role "viewer" { permissions = ["plan", "status.read"] }

principal "ci@company.com" {
  token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
  roles        = ["operator"]
}
principal "unix:1000" { roles = ["viewer"] }

audit { path = "/var/log/nexus/audit.log" }
