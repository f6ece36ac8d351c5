module "app" "db" {
  kind = "target"
}

module "app" "web" {
  kind = "target"
}
