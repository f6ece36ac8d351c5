module "app" "web" {
  kind    = "exec"
  colour  = "blue"
  state   = "paused"
  config {
    command = "sleep 1000"
  }
  restart {
    backoff = "soon"
  }
}

module "app" "worker" {
  kind       = "schedule"
  depends_on = [module.app.missing]
  config {
    command = ["./bin/work"]
    every   = "1h"
  }
}
