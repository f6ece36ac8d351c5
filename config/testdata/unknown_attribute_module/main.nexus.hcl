module "app" "web" {
  kind      = "target"
  dependson = []
}
