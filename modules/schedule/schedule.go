// Package schedule is the `schedule` kind: it runs a command every interval
// or on a cron schedule.
package schedule

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/nexus-run/nexus/modules"
)

type settings struct {
	Command []string          `json:"command"`
	Every   string            `json:"every"`
	Cron    string            `json:"cron"`
	Timeout string            `json:"timeout"`
	Overlap string            `json:"overlap"`
	Env     map[string]string `json:"env"`
	Dir     string            `json:"dir"`
}

func validate(c modules.Config) error {
	var s settings
	if err := c.Decode(&s); err != nil {
		return err
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		return fmt.Errorf("command must name a program")
	}
	switch {
	case (s.Every == "") == (s.Cron == ""):
		return fmt.Errorf("set exactly one of every and cron")
	case s.Every != "":
		if d, err := time.ParseDuration(s.Every); err != nil || d <= 0 {
			return fmt.Errorf("every %q must be a positive duration like \"24h\"", s.Every)
		}
	default:
		if _, err := cron.ParseStandard(s.Cron); err != nil {
			return fmt.Errorf("cron %q: %v", s.Cron, err)
		}
	}
	if s.Timeout != "" {
		if d, err := time.ParseDuration(s.Timeout); err != nil || d <= 0 {
			return fmt.Errorf("timeout %q must be a positive duration like \"10m\"", s.Timeout)
		}
	}
	switch s.Overlap {
	case "skip", "allow", "queue":
	default:
		return fmt.Errorf("overlap %q must be skip, allow or queue", s.Overlap)
	}
	return nil
}

// New returns a schedule module.
func New() modules.Module { return &Schedule{} }

// Schedule is a placeholder until the kind is implemented.
type Schedule struct{ modules.Base }
