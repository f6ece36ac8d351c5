package config_test

import (
	"fmt"

	"github.com/nexus-run/nexus/config"
	"github.com/nexus-run/nexus/internal/builtin"
)

// ExampleLoad loads a two-module topology from memory, as the daemon does
// with the files a client sent, and prints each instance with its hard
// dependencies and secrets.
func ExampleLoad() {
	files := map[string][]byte{
		"main.nexus.hcl": []byte(`
module "synapse" "bus" {
  kind = "exec"
  config {
    command = ["sleep", "1000"]
    env     = { LISTEN = "127.0.0.1:9100" }
  }
}

module "vitals" "heartbeat" {
  kind = "heartbeat"
  config {
    target  = "http://${module.synapse.bus.config.env.LISTEN}/beat"
    api_key = secret("vault", "kv/heartbeat", "api_key")
  }
}
`),
	}
	cfg, diags := config.Load("", files, config.Options{Registry: builtin.Registry()})
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	for _, m := range cfg.Modules {
		fmt.Println(m.Spec.Address, m.Spec.Kind, m.Spec.DependsOn, m.Spec.Secrets)
	}
	// Output:
	// module.synapse.bus exec [] []
	// module.vitals.heartbeat heartbeat [module.synapse.bus] [vault kv/heartbeat#api_key]
}
