variable "beat_interval" {
  type    = string
  default = "10m"
  validation {
    condition     = can(regex("^[0-9]+s$", var.beat_interval))
    error_message = "Use whole seconds, like \"10s\"."
  }
}

module "vitals" "heartbeat" {
  kind = "heartbeat"
  config {
    target   = "http://127.0.0.1:9100/beat"
    interval = var.beat_interval
  }
}
