module "app" "web" {
  kind = "exec"
  config {
    command = ["sleep", "1000"]
  }
  timeouts {
    start = "30 seconds"
  }
}
