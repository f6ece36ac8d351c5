package config

import (
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/nexus-run/nexus/modules"
)

// settings decodes the instance's arguments and blocks other than config
// into s, over the defaults already in it. A null argument keeps the default.
func (e *evaluator) settings(s *modules.Spec) {
	attrs := e.b.content.Attributes
	if a := attrs["permissions"]; a != nil {
		if perms, ok := e.strings(a); ok {
			s.Permissions = e.permissions(a, perms)
		}
	}
	if a := attrs["sensitive"]; a != nil {
		if v, ok := e.plain(a, cty.Bool); ok {
			s.Sensitive = v.True()
		}
	}
	if a := attrs["state"]; a != nil {
		if v, ok := e.enum(a, "started", "stopped"); ok {
			s.DesiredState = modules.DesiredState(v)
		}
	}
	if a := attrs["on_secret_change"]; a != nil {
		if v, ok := e.enum(a, "restart", "reload", "noop"); ok {
			s.OnSecretChange = modules.OnSecretChange(v)
		}
	}
	if nb := e.b.nested["health"]; nb != nil {
		s.Health = e.health(nb)
	}
	if nb := e.b.nested["restart"]; nb != nil {
		e.restart(nb, &s.Restart)
	}
	if nb := e.b.nested["limits"]; nb != nil {
		e.whole(nb.attrs["memory_mb"], 0, &s.Limits.MemoryMB)
		e.whole(nb.attrs["cpu_percent"], 0, &s.Limits.CPUPercent)
	}
	if nb := e.b.nested["timeouts"]; nb != nil {
		e.duration(nb.attrs["start"], &s.Timeouts.Start)
		e.duration(nb.attrs["stop"], &s.Timeouts.Stop)
	}
}

func (e *evaluator) health(nb *nestedBlock) *modules.HealthCheck {
	h := &modules.HealthCheck{
		Interval:         modules.Duration(modules.DefaultHealthInterval),
		Timeout:          modules.Duration(modules.DefaultHealthTimeout),
		FailureThreshold: modules.DefaultHealthFailureThreshold,
	}
	if a := nb.attrs["http"]; a != nil {
		if v, ok := e.str(a); ok {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				e.add(errorDiag(rangePtr(a.Expr.Range()), "Invalid health check URL",
					"%q is not an http:// or https:// URL, like \"http://127.0.0.1:9100/healthz\".", v))
			}
			h.HTTP = v
		}
	}
	if a := nb.attrs["tcp"]; a != nil {
		if v, ok := e.str(a); ok {
			if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
				e.add(errorDiag(rangePtr(a.Expr.Range()), "Invalid health check address",
					"%q is not a host:port address, like \"127.0.0.1:5432\".", v))
			}
			h.TCP = v
		}
	}
	if a := nb.attrs["exec"]; a != nil {
		if v, ok := e.strings(a); ok {
			if len(v) == 0 || v[0] == "" {
				e.add(errorDiag(rangePtr(a.Expr.Range()), "Invalid health check command",
					"The exec check is a program and its arguments, like [\"pg_isready\", \"-q\"]; the first element names the program."))
			}
			h.Exec = v
		}
	}
	e.duration(nb.attrs["interval"], &h.Interval)
	e.duration(nb.attrs["timeout"], &h.Timeout)
	e.whole(nb.attrs["failure_threshold"], 1, &h.FailureThreshold)
	if h.HTTP == "" && h.TCP == "" && h.Exec == nil && !e.failed && !e.unknown && !e.b.failed {
		e.add(errorDiag(rangePtr(nb.block.DefRange), "Missing health check",
			"The health block's check is null: set exactly one of http, tcp and exec."))
	}
	return h
}

func (e *evaluator) restart(nb *nestedBlock, r *modules.RestartPolicy) {
	if a := nb.attrs["policy"]; a != nil {
		if v, ok := e.enum(a, "never", "on-failure", "always"); ok {
			r.Policy = modules.RestartMode(v)
		}
	}
	e.whole(nb.attrs["max_attempts"], 0, &r.MaxAttempts)
	e.duration(nb.attrs["window"], &r.Window)
	e.duration(nb.attrs["backoff"], &r.Backoff)
	maxSet := e.duration(nb.attrs["max_backoff"], &r.MaxBackoff)
	if r.MaxBackoff < r.Backoff {
		if !maxSet {
			r.MaxBackoff = r.Backoff // a long backoff raises the default cap
			return
		}
		a := nb.attrs["max_backoff"]
		e.add(errorDiag(rangePtr(a.Expr.Range()), "Invalid max_backoff",
			"The max_backoff (%s) must not be less than the backoff (%s): the backoff doubles up to max_backoff.", r.MaxBackoff, r.Backoff))
	}
}

// plain evaluates a setting: converted to ty, non-null (null keeps the
// default: false is returned without an error) and not sensitive, since
// settings show in plans.
func (e *evaluator) plain(a *hcl.Attribute, ty cty.Type) (cty.Value, bool) {
	v, ok := e.value(a, ty)
	if !ok || v.IsNull() {
		return cty.NilVal, false
	}
	if v.ContainsMarked() {
		e.add(errorDiag(rangePtr(a.Expr.Range()), "Sensitive value not allowed",
			"The %s argument cannot be derived from a sensitive variable: it shows in plans. Only config attributes can hold sensitive values.", a.Name))
		return cty.NilVal, false
	}
	return v, true
}

func (e *evaluator) str(a *hcl.Attribute) (string, bool) {
	v, ok := e.plain(a, cty.String)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

// strings evaluates a list of non-null strings.
func (e *evaluator) strings(a *hcl.Attribute) ([]string, bool) {
	v, ok := e.plain(a, cty.List(cty.String))
	if !ok {
		return nil, false
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, el := it.Element()
		if el.IsNull() {
			e.add(errorDiag(rangePtr(a.Expr.Range()), "Invalid value", "The %s list must not hold null.", a.Name))
			return nil, false
		}
		out = append(out, el.AsString())
	}
	return out, true
}

func (e *evaluator) enum(a *hcl.Attribute, allowed ...string) (string, bool) {
	v, ok := e.str(a)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, v) {
		e.add(errorDiag(rangePtr(a.Expr.Range()), "Invalid "+a.Name+" value",
			"The %s must be %s, not %q.%s", a.Name, strings.Replace(quotedList(allowed), " and ", " or ", 1), v, didYouMean(v, allowed)))
		return "", false
	}
	return v, true
}

// whole sets *dst from a, a whole number of at least min, when a is set.
func (e *evaluator) whole(a *hcl.Attribute, min int, dst *int) {
	if a == nil {
		return
	}
	v, ok := e.plain(a, cty.Number)
	if !ok {
		return
	}
	var n int
	if err := gocty.FromCtyValue(v, &n); err != nil || n < min {
		e.add(errorDiag(rangePtr(a.Expr.Range()), "Invalid "+a.Name+" value",
			"The %s must be a whole number of at least %d, not %s.", a.Name, min, describeNumber(v)))
		return
	}
	*dst = n
}

// duration sets *dst from a, a positive Go duration string, and reports
// whether a set it.
func (e *evaluator) duration(a *hcl.Attribute, dst *modules.Duration) bool {
	if a == nil {
		return false
	}
	s, ok := e.str(a)
	if !ok {
		return false
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		e.add(errorDiag(rangePtr(a.Expr.Range()), "Invalid duration",
			"The %s must be a positive duration: a number and a unit, like \"30s\", \"5m\" or \"1h30m\", not %q.", a.Name, s))
		return false
	}
	*dst = modules.Duration(d)
	return true
}

// permissions checks, sorts and de-duplicates a block's permissions.
func (e *evaluator) permissions(a *hcl.Attribute, perms []string) []string {
	for _, p := range perms {
		if p == "" || strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			e.add(errorDiag(rangePtr(a.Expr.Range()), "Invalid permission",
				"The permission %q must be a non-empty name without spaces, like \"heartbeat.send\".", p))
			return nil
		}
	}
	perms = slices.Clone(perms)
	slices.Sort(perms)
	return slices.Compact(perms)
}
