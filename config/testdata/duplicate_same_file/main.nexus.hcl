variable "region" {
  default = "eu"
}

variable "region" {
  default = "us"
}

locals {
  a = 1
}

locals {
  a = 2
}

module "app" "web" {
  kind = "target"
}

module "app" "web" {
  kind = "target"
}
