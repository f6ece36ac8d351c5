module "app" "web" {
  kind = "exec"
  config {
    command = ["sleep", "1000"]
    env     = "LISTEN=1"
  }
}
