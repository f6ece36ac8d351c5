module "app" "web" {
  kind  = "target"
  state = "running"
}
