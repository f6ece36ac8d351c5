module "synapse" "bus" {
  kind = "target"
}

module "vitals" "heartbeat" {
  kind       = "target"
  depends_on = [module.synapse.bus, module.synapse.cache]
}
