# The payments team's topology: project "payments", and every module tagged
# with team.payments, so only a principal holding that permission can create,
# change or destroy it.

nexus {
  project = "payments"
}

locals {
  owner = ["team.payments"]
}

module "payments" "api" {
  kind        = "exec"
  permissions = local.owner
  config {
    command = ["sleep", "infinity"] # stands in for the payments API
  }
}

module "payments" "settlement" {
  kind        = "schedule"
  permissions = local.owner
  depends_on  = [module.payments.api]
  config {
    cron    = "30 2 * * *"
    command = ["sh", "-c", "echo settling the day"]
  }
}
