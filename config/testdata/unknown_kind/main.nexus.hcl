module "app" "web" {
  kind = "exce"
  config {
    command = ["sleep", "1000"]
  }
}
