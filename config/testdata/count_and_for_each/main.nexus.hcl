module "tasks" "report" {
  count    = 2
  for_each = toset(["daily"])
  kind     = "target"
}
