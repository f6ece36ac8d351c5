module "tasks" "report" {
  for_each = 3
  kind     = "target"
}
