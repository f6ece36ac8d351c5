variable "workers" {
  type    = number
  default = 3
}

variable "jobs" {
  type = map(object({ every = string }))
  default = {
    daily  = { every = "24h" }
    weekly = { every = "168h" }
  }
}

module "pool" "worker" {
  count = var.workers
  kind  = "exec"
  config {
    command = ["sleep", "${1000 + count.index}"]
    env     = { INDEX = tostring(count.index) }
  }
}

module "tasks" "report" {
  for_each = var.jobs
  kind     = "schedule"
  config {
    every   = each.value.every
    command = ["./bin/report", each.key]
  }
}

module "app" "gate" {
  kind       = "target"
  depends_on = [module.pool.worker]
  after      = [module.tasks.report["daily"]]
}

module "app" "first" {
  kind = "exec"
  config {
    command = ["sleep", module.pool.worker[0].config.env.INDEX]
    env = {
      WORKERS = join(",", [for w in module.pool.worker : w.id])
      WEEKLY  = module.tasks.report["weekly"].config.every
    }
  }
}

module "app" "none" {
  count = 0
  kind  = "target"
}
