module "synapse" "bus" {
  kind = "exec"
  config {
    command = ["sleep", "1000"]
    env     = { LISTEN = "127.0.0.1:9100" }
  }
}

module "vitals" "heartbeat" {
  kind = "heartbeat"
  config {
    target = "http://${module.synapse.buss.config.env.LISTEN}/beat"
  }
}
