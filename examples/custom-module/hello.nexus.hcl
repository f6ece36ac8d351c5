# A topology that uses the custom "hello" kind. Only a nexus built with it
# (see main.go) can validate, plan or run this; a stock nexus says:
#   Error: Unsupported module kind ... This nexus build has no module kind "hello".

nexus {
  project = "hello"
}

variable "listen" {
  type        = string
  default     = "127.0.0.1:9200"
  description = "Where the hello server listens."
}

# The custom kind: its config attributes come from hello.Manifest(). Applying
# it needs the kind's own permission, hello.serve, on top of module.load and
# module.start.
module "web" "hello" {
  kind = "hello"
  config {
    listen  = var.listen
    message = "Hello from a custom nexus kind!"
  }
}

# A built-in kind watching the custom one from the outside: it refers to the
# hello module's config, which makes it a dependency, so it starts once the
# server is ready.
module "web" "check" {
  kind = "probe"
  config {
    http     = "http://${module.web.hello.config.listen}/"
    interval = "2s"
  }
}
