package exec

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// Manifest returns the exec kind's manifest.
func Manifest() modules.Manifest {
	return modules.Manifest{
		Kind:        "exec",
		Version:     "1.0.0",
		Description: "A supervised process: its process group is started, watched, limited, measured and stopped.",
		Config: modules.Schema{Attributes: map[string]*modules.Attribute{
			"command":         {Type: cty.List(cty.String), Required: true, Description: "The program and its arguments."},
			"env":             {Type: cty.Map(cty.String), Description: "Environment variables of the process (secret() values allowed)."},
			"secret_files":    {Type: cty.Map(cty.String), Description: "Files written 0600 into the module's secrets dir, by file name (secret() values); $NEXUS_SECRETS_DIR names the dir (set, and the dir made, only when there are secret files)."},
			"dir":             {Type: cty.String, Description: "Working directory; default the directory nexus runs in."},
			"stop_signal":     {Type: cty.String, Default: cty.StringVal("SIGTERM"), Description: "Signal sent to the process group on stop, before SIGKILL at timeouts.stop."},
			"reload_signal":   {Type: cty.String, HotReload: true, Description: "Signal sent to the process after an in-place reconfigure rewrote its secret files (a secret rotated with on_secret_change = \"reload\"), as systemd's ExecReload=kill -HUP $MAINPID; none by default."},
			"log_max_size_mb": {Type: cty.Number, Default: cty.NumberIntVal(10), HotReload: true, Description: "Size at which stdout.log and stderr.log rotate."},
			"log_max_files":   {Type: cty.Number, Default: cty.NumberIntVal(3), HotReload: true, Description: "Rotated log files kept per stream."},
		}},
		Validate: validate,
	}
}
