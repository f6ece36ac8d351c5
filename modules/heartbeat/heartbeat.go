// Package heartbeat is the `heartbeat` kind, the original daemon's reference
// module: it POSTs a JSON beat to a target every interval.
package heartbeat

import (
	"fmt"
	"net/url"
	"time"

	"github.com/nexus-run/nexus/modules"
)

type settings struct {
	Target        string  `json:"target"`
	Interval      string  `json:"interval"`
	Timeout       string  `json:"timeout"`
	APIKey        string  `json:"api_key"`
	DegradedAfter float64 `json:"degraded_after"`
}

func validate(c modules.Config) error {
	var s settings
	if err := c.Decode(&s); err != nil {
		return err
	}
	u, err := url.Parse(s.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("target %q must be an http:// or https:// URL", s.Target)
	}
	for name, d := range map[string]string{"interval": s.Interval, "timeout": s.Timeout} {
		if v, err := time.ParseDuration(d); err != nil || v <= 0 {
			return fmt.Errorf("%s %q must be a positive duration like \"10s\"", name, d)
		}
	}
	if s.DegradedAfter < 1 {
		return fmt.Errorf("degraded_after must be at least 1")
	}
	return nil
}

// New returns a heartbeat module.
func New() modules.Module { return &Heartbeat{} }

// Heartbeat is a placeholder until the kind is implemented.
type Heartbeat struct{ modules.Base }
