projekt = "payments"

module "app" "web" {
  kind = "target"
}
