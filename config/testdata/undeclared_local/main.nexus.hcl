locals {
  bus_addr = "127.0.0.1:9100"
}

module "vitals" "heartbeat" {
  kind = "heartbeat"
  config {
    target = "http://${local.bus_adr}/beat"
  }
}
