module "vitals" "heartbeat" {
  kind = "heartbeat"
  config {
    target  = "http://127.0.0.1:9100/beat"
    api_key = secret("vaul", "kv/heartbeat", "api_key")
  }
}
