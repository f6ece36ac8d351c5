package schedule

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// Manifest returns the schedule kind's manifest.
func Manifest() modules.Manifest {
	return modules.Manifest{
		Kind:        "schedule",
		Version:     "1.0.0",
		Description: "Runs a command every interval or on a cron schedule, with a timeout and an overlap policy.",
		Config: modules.Schema{Attributes: map[string]*modules.Attribute{
			"command":         {Type: cty.List(cty.String), Required: true, HotReload: true, Description: "The program and its arguments, run on each tick."},
			"every":           {Type: cty.String, HotReload: true, Description: "Interval between runs, like \"24h\"."},
			"cron":            {Type: cty.String, HotReload: true, Description: "Standard five-field cron expression, instead of every."},
			"timeout":         {Type: cty.String, HotReload: true, Description: "A run still going after this gets SIGTERM, then SIGKILL after timeouts.stop (its whole process group); default none."},
			"overlap":         {Type: cty.String, Default: cty.StringVal("skip"), HotReload: true, Description: "When a run is due while the last goes on: skip, allow or queue."},
			"env":             {Type: cty.Map(cty.String), HotReload: true, Description: "Environment variables of each run (secret() values allowed)."},
			"dir":             {Type: cty.String, HotReload: true, Description: "Working directory of each run."},
			"log_max_size_mb": {Type: cty.Number, Default: cty.NumberIntVal(10), HotReload: true, Description: "Size at which stdout.log and stderr.log (the runs' output) rotate."},
			"log_max_files":   {Type: cty.Number, Default: cty.NumberIntVal(3), HotReload: true, Description: "Rotated log files kept per stream."},
		}},
		Validate: validate,
	}
}
