# Daemon config of a host two teams share: payments and search. Each team
# applies its own topology (its own project: its own state, lock and
# history) with its own token, and can change only modules that carry its
# team's permission.
#
# Roles and principals live only in this file: nothing applied through the
# API can grant a permission. Edit it and reload without a restart:
#   systemctl reload nexus        (or: kill -HUP <daemon pid>)

daemon {
  data_dir = ".nexus"
  node     = "shared-host-1"
}

# Operators on the host use the socket. A caller's uid is its principal
# ("unix:1000"); the daemon's own uid is an admin.
listener "unix" {
  path = ".nexus/nexus.sock"
}

# CI and people elsewhere use tokens over TCP. Plain HTTP is served on
# loopback only; add a tls block (cert_file, key_file, and client_ca_file
# for mutual TLS) to listen on other addresses.
listener "tcp" {
  address = "127.0.0.1:7420"
}

# A role is a set of permissions. Verbs: plan, apply, module.load (create),
# module.start, module.stop, module.unload (destroy), module.reconfigure,
# state.read, state.write, audit.read, status.read, secret.write; "module.*"
# and "*" are wildcards. Any other name is a permission modules can require:
# the kind's own (the heartbeat kind requires heartbeat.send) and those of
# the module block's permissions attribute (here team.payments and
# team.search).
role "payments-deployer" {
  permissions = ["plan", "apply", "module.*", "status.read", "state.read", "team.payments"]
}

role "search-deployer" {
  permissions = ["plan", "apply", "module.*", "status.read", "state.read", "team.search", "heartbeat.send"]
}

role "viewer" {
  permissions = ["plan", "status.read", "state.read", "audit.read"]
}

# Principals hold roles. A token principal is known by the SHA-256 of its
# token only. These three hashes are of DEMO tokens printed in the README:
# replace them before this config serves anything real. Make a token and
# its hash with:
#   openssl rand -hex 32 > payments.token
#   nexus token hash < payments.token
principal "ci-payments" {
  token_sha256 = "f63ee9a40f4d348db21ada9839aab6e36e627f6d361671dd8ff33fbc6e6a435b" # demo-payments-token-CHANGE-ME
  roles        = ["payments-deployer"]
}

principal "ci-search" {
  token_sha256 = "8ba5ff764d379adb4cc4c022ea4a78f84762c7979be923ca03515fca8a878b6b" # demo-search-token-CHANGE-ME
  roles        = ["search-deployer"]
}

principal "oncall" {
  token_sha256 = "4a14baddd57da09788433b0439981d7dcc93547874fd96407431df36a0163496" # demo-oncall-token-CHANGE-ME
  roles        = ["viewer"]
}

# A local user, by uid, on the unix socket.
principal "unix:1000" {
  roles = ["viewer"]
}

audit {
  path = ".nexus/audit.log"
}
