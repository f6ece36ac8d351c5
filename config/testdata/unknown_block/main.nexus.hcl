module "app" "web" {
  kind = "target"
}

resource "app" "db" {
  kind = "target"
}
