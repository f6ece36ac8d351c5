// Package probe is the `probe` kind: it checks an outside endpoint and is
// ready while the endpoint answers.
package probe

import (
	"fmt"
	"time"

	"github.com/nexus-run/nexus/modules"
)

type settings struct {
	HTTP         string  `json:"http"`
	TCP          string  `json:"tcp"`
	Interval     string  `json:"interval"`
	Timeout      string  `json:"timeout"`
	ExpectStatus float64 `json:"expect_status"`
}

func validate(c modules.Config) error {
	var s settings
	if err := c.Decode(&s); err != nil {
		return err
	}
	if (s.HTTP == "") == (s.TCP == "") {
		return fmt.Errorf("set exactly one of http and tcp")
	}
	for name, d := range map[string]string{"interval": s.Interval, "timeout": s.Timeout} {
		if v, err := time.ParseDuration(d); err != nil || v <= 0 {
			return fmt.Errorf("%s %q must be a positive duration like \"5s\"", name, d)
		}
	}
	return nil
}

// New returns a probe module.
func New() modules.Module { return &Probe{} }

// Probe is a placeholder until the kind is implemented.
type Probe struct{ modules.Base }
