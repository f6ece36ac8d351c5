// Package exec is the `exec` kind: a supervised process.
package exec

import (
	"fmt"
	"strings"

	"github.com/nexus-run/nexus/modules"
)

type settings struct {
	Command      []string          `json:"command"`
	Env          map[string]string `json:"env"`
	SecretFiles  map[string]string `json:"secret_files"`
	Dir          string            `json:"dir"`
	StopSignal   string            `json:"stop_signal"`
	LogMaxSizeMB float64           `json:"log_max_size_mb"`
	LogMaxFiles  float64           `json:"log_max_files"`
}

var signals = map[string]bool{"SIGTERM": true, "SIGINT": true, "SIGQUIT": true, "SIGHUP": true, "SIGUSR1": true, "SIGUSR2": true, "SIGKILL": true}

func validate(c modules.Config) error {
	var s settings
	if err := c.Decode(&s); err != nil {
		return err
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		return fmt.Errorf("command must name a program")
	}
	if !signals[strings.ToUpper(s.StopSignal)] {
		return fmt.Errorf("stop_signal %q is not one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGKILL", s.StopSignal)
	}
	for name := range s.SecretFiles {
		if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
			return fmt.Errorf("secret_files name %q must be a plain file name", name)
		}
	}
	if s.LogMaxSizeMB <= 0 || s.LogMaxFiles < 1 {
		return fmt.Errorf("log_max_size_mb must be positive and log_max_files at least 1")
	}
	return nil
}

// New returns an exec module.
func New() modules.Module { return &Exec{} }

// Exec is a placeholder until the kind is implemented.
type Exec struct{ modules.Base }
