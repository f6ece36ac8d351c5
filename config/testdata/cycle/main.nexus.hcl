module "a" "x" {
  kind       = "target"
  depends_on = [module.b.y]
}

module "b" "y" {
  kind  = "target"
  after = [module.c.z]
}

module "c" "z" {
  kind = "exec"
  config {
    command = ["sleep", module.a.x.id]
  }
}

module "d" "ok" {
  kind = "target"
}

module "e" "downstream" {
  kind       = "target"
  depends_on = [module.a.x]
}
