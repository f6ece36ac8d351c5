package probe

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// Manifest returns the probe kind's manifest.
func Manifest() modules.Manifest {
	return modules.Manifest{
		Kind:        "probe",
		Version:     "1.0.0",
		Description: "Checks an outside endpoint (http or tcp); ready while it answers, a gate to depend on.",
		Config: modules.Schema{Attributes: map[string]*modules.Attribute{
			"http":          {Type: cty.String, HotReload: true, Description: "URL to GET; ready on a 2xx (or expect_status) answer."},
			"tcp":           {Type: cty.String, HotReload: true, Description: "host:port to connect to; ready when it accepts."},
			"interval":      {Type: cty.String, Default: cty.StringVal("5s"), HotReload: true, Description: "Time between checks."},
			"timeout":       {Type: cty.String, Default: cty.StringVal("2s"), HotReload: true, Description: "Timeout of one check."},
			"expect_status": {Type: cty.Number, HotReload: true, Description: "HTTP status that counts as up; default any 2xx."},
		}},
		Validate: validate,
	}
}
