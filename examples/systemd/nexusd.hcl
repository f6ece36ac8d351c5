# The daemon config the systemd unit (nexus.service) runs with, installed
# as /etc/nexus/nexusd.hcl. The paths are the directories the unit has
# systemd create: StateDirectory, RuntimeDirectory and LogsDirectory.

daemon {
  data_dir = "/var/lib/nexus"
  node     = "host-1"
}

# Local operators: members of the nexus group may connect (mode 0660). Each
# caller's uid is its principal, like "unix:1000"; give those principals
# roles below.
listener "unix" {
  path = "/run/nexus/nexus.sock"
  mode = "0660"
}

# Metrics, health and the token API, for Prometheus and CI on this host.
listener "tcp" {
  address = "127.0.0.1:7420"
}

audit {
  path = "/var/log/nexus/audit.log"
}

role "operator" {
  permissions = ["plan", "apply", "module.*", "status.read", "state.read", "audit.read"]
}

principal "unix:1000" {
  roles = ["operator"]
}
