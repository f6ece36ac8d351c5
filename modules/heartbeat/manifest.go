package heartbeat

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// Manifest returns the heartbeat kind's manifest.
func Manifest() modules.Manifest {
	return modules.Manifest{
		Kind:        "heartbeat",
		Version:     "1.0.0",
		Description: "Sends a JSON beat to a target URL every interval, with an API key as bearer token.",
		Permissions: []string{"heartbeat.send"},
		Config: modules.Schema{Attributes: map[string]*modules.Attribute{
			"target":         {Type: cty.String, Required: true, HotReload: true, Description: "URL the beats are POSTed to."},
			"interval":       {Type: cty.String, Default: cty.StringVal("10s"), HotReload: true, Description: "Time between beats, a duration like \"10s\"."},
			"timeout":        {Type: cty.String, Default: cty.StringVal("5s"), HotReload: true, Description: "Timeout of one beat request."},
			"api_key":        {Type: cty.String, HotReload: true, Description: "Sent as \"Authorization: Bearer <api_key>\"; use secret(). A rotated key is picked up in place."},
			"degraded_after": {Type: cty.Number, Default: cty.NumberIntVal(3), HotReload: true, Description: "Consecutive failed beats after which the module is degraded."},
		}},
		Validate: validate,
	}
}
