package runtime

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// SecretResolver reads secret values. The daemon passes its set of
// providers; it must be safe for concurrent use, and its errors must name
// the reference, never the value.
type SecretResolver interface {
	Resolve(ctx context.Context, ref modules.SecretRef) (value string, err error)
}

// randomFingerprint returns an HMAC-SHA256 fingerprinter with a random key,
// for a runtime given none: rotation is still noticed within this process,
// though the fingerprints mean nothing to another one.
func randomFingerprint() func(modules.SecretRef, string) string {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails on Linux
	return func(ref modules.SecretRef, value string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(ref.String()))
		m.Write([]byte{0})
		m.Write([]byte(value))
		return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
	}
}

// resolution reads each secret at most once, for one resolution of one
// module or one CheckSecrets pass over all of them. Its values live only as
// long as it does: drop it (call forget) once the configs are built.
type resolution struct {
	ctx      context.Context
	resolver SecretResolver
	values   map[modules.SecretRef]string
	errs     map[modules.SecretRef]error
}

func (r *Runtime) newResolution(ctx context.Context) *resolution {
	return &resolution{ctx: ctx, resolver: r.o.Secrets, values: map[modules.SecretRef]string{}, errs: map[modules.SecretRef]error{}}
}

func (s *resolution) get(ref modules.SecretRef) (string, error) {
	if v, ok := s.values[ref]; ok {
		return v, nil
	}
	if err, ok := s.errs[ref]; ok {
		return "", err
	}
	var (
		v   string
		err error
	)
	switch {
	case s.resolver == nil:
		err = fmt.Errorf("secret (%s): the runtime has no secret providers", ref)
	default:
		if v, err = s.resolver.Resolve(s.ctx, ref); err != nil {
			err = fmt.Errorf("secret (%s): %w", ref, err)
		}
	}
	if err != nil {
		s.errs[ref] = err
		return "", err
	}
	s.values[ref] = v
	return v, nil
}

// resolveNow resolves spec's secrets with a resolution of its own, dropped
// before it returns.
func (r *Runtime) resolveNow(ctx context.Context, spec *modules.Spec) (resolved, error) {
	s := r.newResolution(ctx)
	defer s.forget()
	return r.resolve(s, spec)
}

// forget drops the values read.
func (s *resolution) forget() {
	clear(s.values)
	clear(s.errs)
}

// resolved is a module's config with its secret values in place, and the
// fingerprints of those values.
type resolved struct {
	config       modules.Config
	fingerprints map[string]string
}

// resolve replaces every secret placeholder in every string of spec's
// config with its value, and fingerprints every secret the spec lists or
// the config holds. Map keys are left as they are: a key is a name, not a
// place for a secret.
func (r *Runtime) resolve(s *resolution, spec *modules.Spec) (resolved, error) {
	fps := map[string]string{}
	note := func(ref modules.SecretRef) (string, error) {
		v, err := s.get(ref)
		if err == nil {
			fps[ref.String()] = r.fingerprint(ref, v)
		}
		return v, err
	}
	for _, ref := range spec.Secrets {
		if _, err := note(ref); err != nil {
			return resolved{}, fmt.Errorf("resolve the secrets of %s: %w", spec.Address, err)
		}
	}
	v, err := cty.Transform(spec.Config.Value(), func(p cty.Path, v cty.Value) (cty.Value, error) {
		raw, marks := v.Unmark()
		if !raw.IsKnown() || raw.IsNull() || raw.Type() != cty.String {
			return v, nil
		}
		out, err := modules.ReplaceSecretRefs(raw.AsString(), note)
		if err != nil {
			return v, fmt.Errorf("config%s: %w", formatPath(p), err)
		}
		return cty.StringVal(out).WithMarks(marks), nil
	})
	if err != nil {
		return resolved{}, fmt.Errorf("resolve the secrets of %s: %w", spec.Address, err)
	}
	return resolved{config: modules.NewConfig(v), fingerprints: fps}, nil
}

// changedSecrets lists the references whose fingerprints differ, sorted.
func changedSecrets(old, cur map[string]string) []string {
	var changed []string
	for ref, fp := range cur {
		if old[ref] != fp {
			changed = append(changed, ref)
		}
	}
	for ref := range old {
		if _, ok := cur[ref]; !ok {
			changed = append(changed, ref)
		}
	}
	sort.Strings(changed)
	return changed
}

// formatPath renders a cty path the way HCL shows a traversal: .env["TOKEN"].
func formatPath(p cty.Path) string {
	var b strings.Builder
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			b.WriteString("." + s.Name)
		case cty.IndexStep:
			switch k := s.Key; {
			case k.Type() == cty.String:
				fmt.Fprintf(&b, "[%q]", k.AsString())
			case k.Type() == cty.Number:
				fmt.Fprintf(&b, "[%s]", k.AsBigFloat().Text('f', -1))
			default:
				b.WriteString("[…]")
			}
		}
	}
	return b.String()
}

// cloneFingerprints copies a fingerprint map for a status.
func cloneFingerprints(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
