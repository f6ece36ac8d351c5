variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "replicas" {
  type    = number
  default = 1
}

variable "ports" {
  type    = list(number)
  default = [80]
}

variable "owner" {}

module "app" "web" {
  count = var.replicas
  kind  = "exec"
  config {
    command = ["sleep", "1000"]
    env = {
      REGION = var.region
      PORTS  = join(",", var.ports)
      OWNER  = var.owner
      HOME   = env("HOME")
      EXTRA  = try(env("NEXUS_TEST_UNSET"), "fallback")
      MOTD   = trimspace(file("motd.txt"))
    }
  }
}
