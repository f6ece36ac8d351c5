variable "beat_target" {
  type = string
}

module "vitals" "heartbeat" {
  kind = "heartbeat"
  config {
    target = var.beat_target
  }
}
