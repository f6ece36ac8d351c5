variable "token" {
  type      = string
  sensitive = true
}

variable "db" {
  type = object({
    host     = string
    password = string
  })
  sensitive = true
  default = {
    host     = "db.internal"
    password = "hunter2"
  }
}

module "app" "web" {
  kind = "exec"
  config {
    command = ["sleep", "1000"]
    env = {
      TOKEN   = "Bearer ${var.token}"
      DB_HOST = var.db.host
      PLAIN   = "visible"
    }
  }
}

module "app" "beat" {
  kind = "heartbeat"
  config {
    target  = "http://127.0.0.1:9100/beat"
    api_key = module.app.web.config.env.TOKEN
  }
}
