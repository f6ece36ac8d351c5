nexus {
  required_version = ">= 0.1.0"
  project          = "payments"
}

variable "beat_interval" {
  type        = string
  default     = "10s"
  description = "How often the heartbeat fires."
  validation {
    condition     = can(regex("^[0-9]+s$", var.beat_interval))
    error_message = "Use whole seconds, like \"10s\"."
  }
}

locals {
  bus_addr = "127.0.0.1:9100"
}

module "synapse" "bus" {
  kind = "exec"
  config {
    command = ["sleep", "1000"]
    env     = { LISTEN = local.bus_addr, BUS_TOKEN = secret("file", "bus/token") }
  }
  health {
    http              = "http://${local.bus_addr}/healthz"
    interval          = "2s"
    timeout           = "1s"
    failure_threshold = 3
  }
  restart {
    policy       = "on-failure"
    max_attempts = 5
    window       = "10m"
    backoff      = "1s"
  }
  limits {
    memory_mb   = 128
    cpu_percent = 50
  }
  timeouts {
    start = "30s"
    stop  = "10s"
  }
}

module "vitals" "heartbeat" {
  kind        = "heartbeat"
  version     = "1.0.0"
  depends_on  = [module.synapse.bus]
  after       = []
  permissions = ["heartbeat.send"]
  sensitive   = false
  state       = "started"
  config {
    target   = "http://${module.synapse.bus.config.env.LISTEN}/beat"
    interval = var.beat_interval
    api_key  = secret("vault", "kv/heartbeat", "api_key")
  }
}

module "tasks" "report" {
  for_each = toset(["daily", "weekly"])
  kind     = "schedule"
  config {
    every   = each.key == "daily" ? "24h" : "168h"
    command = ["./bin/report", each.key]
  }
}
