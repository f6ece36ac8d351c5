package modules

import (
	"fmt"
	"strconv"
	"time"

	"github.com/nexus-run/nexus/internal/jsonx"
)

// Specs travel by the thousand in plans and state documents, so they have a
// hand-written JSON codec (reflection cost more than the rest of encoding a
// state). It writes byte for byte what encoding/json writes from the
// struct tags, and reads what encoding/json reads: members in any order,
// names matched exactly or else case-insensitively, unknown members
// ignored, null leaving a scalar as it is and clearing a slice or pointer.
// Where a member appears twice the later wins (a slice, map, pointer or
// config whole, where encoding/json would merge into it). spec_json_test.go
// holds both claims to encoding/json, fuzzed; a field added to Spec must be
// added here too, which that test notices.

// MarshalJSON encodes the spec as encoding/json would from its struct tags.
func (s Spec) MarshalJSON() ([]byte, error) {
	return s.AppendJSON(make([]byte, 0, 512))
}

// UnmarshalJSON decodes a spec from the JSON MarshalJSON writes, or from
// any JSON encoding/json would read into the struct; null changes nothing.
func (s *Spec) UnmarshalJSON(buf []byte) error {
	r := jsonx.NewReader(string(buf))
	readSpec(r, s)
	if err := r.End(); err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	return nil
}

// ReadJSON reads a spec from r, the next value of a larger document that
// nexus's own codecs decode (a state record), as UnmarshalJSON does but
// without copying: the spec's strings and config share r's text. It is for
// those codecs (jsonx is internal to nexus); problems are recorded in r.
func (s *Spec) ReadJSON(r *jsonx.Reader) { readSpec(r, s) }

// AppendJSON appends the JSON MarshalJSON returns to b.
func (s *Spec) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"address":`...)
	b = jsonx.AppendString(b, s.Address)
	b = append(b, `,"id":`...)
	b = jsonx.AppendString(b, s.ID)
	b = append(b, `,"kind":`...)
	b = jsonx.AppendString(b, s.Kind)
	if s.Version != "" {
		b = append(b, `,"version":`...)
		b = jsonx.AppendString(b, s.Version)
	}
	b = append(b, `,"config":`...)
	b, err := s.Config.appendJSON(b)
	if err != nil {
		return nil, fmt.Errorf("json: error calling MarshalJSON for type modules.Config: %w", err)
	}
	if len(s.Secrets) > 0 {
		b = append(b, `,"secrets":[`...)
		for i, ref := range s.Secrets {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"provider":`...)
			b = jsonx.AppendString(b, ref.Provider)
			b = append(b, `,"path":`...)
			b = jsonx.AppendString(b, ref.Path)
			if ref.Key != "" {
				b = append(b, `,"key":`...)
				b = jsonx.AppendString(b, ref.Key)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendStringsField(b, `,"depends_on":`, s.DependsOn)
	b = appendStringsField(b, `,"after":`, s.After)
	b = appendStringsField(b, `,"permissions":`, s.Permissions)
	if s.Sensitive {
		b = append(b, `,"sensitive":true`...)
	}
	b = appendStringsField(b, `,"sensitive_paths":`, s.SensitivePaths)
	b = append(b, `,"desired_state":`...)
	b = jsonx.AppendString(b, string(s.DesiredState))
	b = append(b, `,"on_secret_change":`...)
	b = jsonx.AppendString(b, string(s.OnSecretChange))
	if h := s.Health; h != nil {
		b = append(b, `,"health":{`...)
		sep := ""
		if h.HTTP != "" {
			b = append(b, `"http":`...)
			b = jsonx.AppendString(b, h.HTTP)
			sep = ","
		}
		if h.TCP != "" {
			b = append(b, sep+`"tcp":`...)
			b = jsonx.AppendString(b, h.TCP)
			sep = ","
		}
		if len(h.Exec) > 0 {
			b = append(b, sep+`"exec":`...)
			b = jsonx.AppendStrings(b, h.Exec)
			sep = ","
		}
		b = append(b, sep+`"interval":`...)
		b = appendDuration(b, h.Interval)
		b = append(b, `,"timeout":`...)
		b = appendDuration(b, h.Timeout)
		b = append(b, `,"failure_threshold":`...)
		b = appendInt(b, h.FailureThreshold)
		b = append(b, '}')
	}
	r := &s.Restart
	b = append(b, `,"restart":{"policy":`...)
	b = jsonx.AppendString(b, string(r.Policy))
	b = append(b, `,"max_attempts":`...)
	b = appendInt(b, r.MaxAttempts)
	b = append(b, `,"window":`...)
	b = appendDuration(b, r.Window)
	b = append(b, `,"backoff":`...)
	b = appendDuration(b, r.Backoff)
	b = append(b, `,"max_backoff":`...)
	b = appendDuration(b, r.MaxBackoff)
	b = append(b, `},"limits":{`...)
	if s.Limits.MemoryMB != 0 {
		b = append(b, `"memory_mb":`...)
		b = appendInt(b, s.Limits.MemoryMB)
		if s.Limits.CPUPercent != 0 {
			b = append(b, ',')
		}
	}
	if s.Limits.CPUPercent != 0 {
		b = append(b, `"cpu_percent":`...)
		b = appendInt(b, s.Limits.CPUPercent)
	}
	b = append(b, `},"timeouts":{"start":`...)
	b = appendDuration(b, s.Timeouts.Start)
	b = append(b, `,"stop":`...)
	b = appendDuration(b, s.Timeouts.Stop)
	return append(b, "}}"...), nil
}

func appendStringsField(b []byte, name string, s []string) []byte {
	if len(s) == 0 {
		return b
	}
	return jsonx.AppendStrings(append(b, name...), s)
}

func appendDuration(b []byte, d Duration) []byte {
	return jsonx.AppendString(b, time.Duration(d).String())
}

func appendInt(b []byte, n int) []byte {
	return strconv.AppendInt(b, int64(n), 10)
}

// Member names, for matching case-insensitively what is not an exact match.
var (
	specNames    = []string{"address", "id", "kind", "version", "config", "secrets", "depends_on", "after", "permissions", "sensitive", "sensitive_paths", "desired_state", "on_secret_change", "health", "restart", "limits", "timeouts"}
	refNames     = []string{"provider", "path", "key"}
	healthNames  = []string{"http", "tcp", "exec", "interval", "timeout", "failure_threshold"}
	restartNames = []string{"policy", "max_attempts", "window", "backoff", "max_backoff"}
	limitsNames  = []string{"memory_mb", "cpu_percent"}
	timeoutNames = []string{"start", "stop"}
)

// readSpec decodes a spec's members into s, recording problems in r.
func readSpec(r *jsonx.Reader, s *Spec) {
	r.ReadObject(specNames, func(key string) bool { return readSpecMember(r, s, key) })
}

// readSpecMember decodes the member named key, reporting false for a name
// that is no member of Spec.
func readSpecMember(r *jsonx.Reader, s *Spec, key string) bool {
	switch key {
	case "address":
		r.ReadString(&s.Address)
	case "id":
		r.ReadString(&s.ID)
	case "kind":
		r.ReadString(&s.Kind)
	case "version":
		r.ReadString(&s.Version)
	case "config":
		s.Config = readConfig(r)
	case "secrets":
		s.Secrets = readSecretRefs(r)
	case "depends_on":
		r.ReadStrings(&s.DependsOn)
	case "after":
		r.ReadStrings(&s.After)
	case "permissions":
		r.ReadStrings(&s.Permissions)
	case "sensitive":
		r.ReadBool(&s.Sensitive)
	case "sensitive_paths":
		r.ReadStrings(&s.SensitivePaths)
	case "desired_state":
		r.ReadString((*string)(&s.DesiredState))
	case "on_secret_change":
		r.ReadString((*string)(&s.OnSecretChange))
	case "health":
		s.Health = readHealth(r)
	case "restart":
		r.ReadObject(restartNames, func(k string) bool { return readRestartMember(r, &s.Restart, k) })
	case "limits":
		r.ReadObject(limitsNames, func(k string) bool {
			switch k {
			case "memory_mb":
				r.ReadInt(&s.Limits.MemoryMB)
			case "cpu_percent":
				r.ReadInt(&s.Limits.CPUPercent)
			default:
				return false
			}
			return true
		})
	case "timeouts":
		r.ReadObject(timeoutNames, func(k string) bool {
			switch k {
			case "start":
				readDuration(r, &s.Timeouts.Start)
			case "stop":
				readDuration(r, &s.Timeouts.Stop)
			default:
				return false
			}
			return true
		})
	default:
		return false
	}
	return true
}

func readRestartMember(r *jsonx.Reader, p *RestartPolicy, key string) bool {
	switch key {
	case "policy":
		r.ReadString((*string)(&p.Policy))
	case "max_attempts":
		r.ReadInt(&p.MaxAttempts)
	case "window":
		readDuration(r, &p.Window)
	case "backoff":
		readDuration(r, &p.Backoff)
	case "max_backoff":
		readDuration(r, &p.MaxBackoff)
	default:
		return false
	}
	return true
}

func readHealth(r *jsonx.Reader) *HealthCheck {
	if r.Null() {
		return nil
	}
	h := new(HealthCheck)
	r.ReadObject(healthNames, func(k string) bool {
		switch k {
		case "http":
			r.ReadString(&h.HTTP)
		case "tcp":
			r.ReadString(&h.TCP)
		case "exec":
			r.ReadStrings(&h.Exec)
		case "interval":
			readDuration(r, &h.Interval)
		case "timeout":
			readDuration(r, &h.Timeout)
		case "failure_threshold":
			r.ReadInt(&h.FailureThreshold)
		default:
			return false
		}
		return true
	})
	return h
}

func readSecretRefs(r *jsonx.Reader) []SecretRef {
	if r.Null() || !r.BeginArray() {
		return nil
	}
	refs := []SecretRef{}
	for r.More() {
		var ref SecretRef
		r.ReadObject(refNames, func(k string) bool {
			switch k {
			case "provider":
				r.ReadString(&ref.Provider)
			case "path":
				r.ReadString(&ref.Path)
			case "key":
				r.ReadString(&ref.Key)
			default:
				return false
			}
			return true
		})
		refs = append(refs, ref)
	}
	return refs
}

// readDuration reads a Duration as its UnmarshalJSON does: a string
// time.ParseDuration accepts (so null is an error).
func readDuration(r *jsonx.Reader, d *Duration) {
	if r.Null() {
		r.Fail(fmt.Errorf(`duration: time: invalid duration ""`))
		return
	}
	s := r.String()
	if r.Err() != nil {
		return
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		r.Fail(fmt.Errorf("duration: %w", err))
		return
	}
	*d = Duration(v)
}
