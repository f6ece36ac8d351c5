# The quickstart: a bus process, a heartbeat that beats into it, and a
# target that groups the two. Run it from the repository root with
#   make run
# or, by hand, giving the bus and the heartbeat their shared secret (the
# daemon's env provider reads NEXUS_SECRET_<PATH>; the Makefile sets it):
#   make build
#   NEXUS_SECRET_QUICKSTART_TOKEN=demo-token bin/nexus up examples/quickstart
# It needs 127.0.0.1:9100 (the bus) and 127.0.0.1:7420 (the daemon) free.

nexus {
  project = "quickstart"
}

variable "beat_interval" {
  type        = string
  default     = "2s"
  description = "How often the heartbeat fires."
  validation {
    condition     = can(regex("^[0-9]+s$", var.beat_interval))
    error_message = "Use whole seconds, like \"10s\"."
  }
}

locals {
  bus_addr = "127.0.0.1:9100"
}

# A supervised process: nexus starts it, checks its health endpoint, and
# restarts it if it crashes. Its token comes from a secret, never from here.
module "synapse" "bus" {
  kind = "exec"
  config {
    command = ["./bin/nexus-echo"]
    env = {
      LISTEN    = local.bus_addr
      BUS_TOKEN = secret("env", "quickstart/token")
    }
  }
  health {
    http     = "http://${local.bus_addr}/healthz"
    interval = "1s"
    timeout  = "1s"
  }
  restart {
    policy       = "on-failure"
    max_attempts = 5
    window       = "10m"
    backoff      = "1s"
  }
}

# The reference module: a JSON beat every interval, with the token as a
# bearer key. Referring to the bus's config makes the bus a dependency, so
# the heartbeat starts once the bus is healthy.
module "vitals" "heartbeat" {
  kind = "heartbeat"
  config {
    target   = "http://${module.synapse.bus.config.env.LISTEN}/beat"
    interval = var.beat_interval
    api_key  = secret("env", "quickstart/token")
  }
}

# A named point in the graph that stands for "the whole app".
module "app" "all" {
  kind       = "target"
  depends_on = [module.synapse.bus, module.vitals.heartbeat]
}
