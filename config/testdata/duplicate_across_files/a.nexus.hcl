module "app" "web" {
  kind = "target"
}
