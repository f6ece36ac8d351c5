variable "token" {
  type      = string
  default   = "s3cr3t-default"
  sensitive = true
}

module "synapse" "bus" {
  kind = "exec"
  config {
    command = ["./bin/bus", "-v1"]
    env = {
      LISTEN    = "127.0.0.1:9100"
      BUS_TOKEN = secret("file", "bus/token")
    }
  }
}

module "vitals" "heartbeat" {
  kind = "heartbeat"
  config {
    target   = "http://${module.synapse.bus.config.env.LISTEN}/beat"
    interval = "10s"
    api_key  = secret("vault", "kv/heartbeat", "api_key")
  }
}

module "vitals" "pager" {
  kind       = "target"
  depends_on = [module.vitals.heartbeat]
}

module "tasks" "report" {
  for_each = toset(["daily", "weekly"])
  kind     = "schedule"
  config {
    every   = each.key == "daily" ? "24h" : "168h"
    command = ["./bin/report", each.key]
    env     = { REPORT_TOKEN = var.token }
  }
}
