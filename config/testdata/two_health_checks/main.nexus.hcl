module "app" "web" {
  kind = "exec"
  config {
    command = ["sleep", "1000"]
  }
  health {
    http = "http://127.0.0.1:8080/healthz"
    tcp  = "127.0.0.1:8080"
  }
}
