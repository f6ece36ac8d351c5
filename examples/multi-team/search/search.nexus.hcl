# The search team's topology: project "search", every module tagged with
# team.search. Its heartbeat also needs heartbeat.send, which the heartbeat
# kind requires of whoever applies it.

nexus {
  project = "search"
}

variable "collector_url" {
  type        = string
  default     = "http://127.0.0.1:9400/beat"
  description = "Where the search heartbeat posts its beats."
}

module "search" "indexer" {
  kind        = "exec"
  permissions = ["team.search"]
  config {
    command = ["sleep", "infinity"] # stands in for the indexer
  }
}

module "search" "heartbeat" {
  kind        = "heartbeat"
  permissions = ["team.search"]
  config {
    target   = var.collector_url
    interval = "30s"
  }
  after = [module.search.indexer]
}
