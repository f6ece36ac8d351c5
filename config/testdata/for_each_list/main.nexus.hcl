module "tasks" "report" {
  for_each = ["daily", "weekly"]
  kind     = "target"
}
