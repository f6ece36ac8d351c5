package config

import (
	"regexp"

	goversion "github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/nexus-run/nexus/internal/version"
)

var nexusSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "required_version"}, {Name: "project"}},
}

var projectName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// declareNexus decodes the nexus block: settings of the whole topology,
// static (no variables), at most one.
func (l *loader) declareNexus(b *hcl.Block) {
	if l.nexusBlock != nil {
		l.diags = l.diags.Append(errorDiag(rangePtr(b.DefRange), "Duplicate nexus block",
			"A nexus block was already declared at %s. A topology has at most one; merge the two.", position(l.nexusBlock.DefRange)))
		return
	}
	l.nexusBlock = b
	content, diags := b.Body.Content(nexusSchema)
	l.diags = l.diags.Extend(diags)
	if a := content.Attributes["required_version"]; a != nil {
		if s, ok := l.staticString(a); ok {
			l.cfg.RequiredVersion = s
			l.diags = l.diags.Extend(checkRequiredVersion(a, s, version.Version))
		}
	}
	if a := content.Attributes["project"]; a != nil {
		if s, ok := l.staticString(a); ok {
			if projectName.MatchString(s) {
				l.cfg.Project = s
			} else {
				l.diags = l.diags.Append(errorDiag(rangePtr(a.Expr.Range()), "Invalid project name",
					"The project %q must start with a lower-case letter or digit and hold only lower-case letters, digits, '_' and '-', like \"payments\".", s))
			}
		}
	}
}

// checkRequiredVersion checks current against the constraint s. A build's
// pre-release suffix ("0.1.0-dev", git describe's "0.1.0-3-gabc123") counts
// as its release; a build without a version number ("dev") is not checked.
func checkRequiredVersion(a *hcl.Attribute, s, current string) hcl.Diagnostics {
	c, err := goversion.NewConstraint(s)
	if err != nil {
		return hcl.Diagnostics{errorDiag(rangePtr(a.Expr.Range()), "Invalid required_version",
			"%q is not a version constraint: %s. Write one like \">= 0.1.0\" or \"~> 1.2\".", s, err)}
	}
	v, err := goversion.NewVersion(current)
	if err != nil {
		return nil
	}
	if !c.Check(v.Core()) {
		return hcl.Diagnostics{errorDiag(rangePtr(a.Expr.Range()), "Unsupported nexus version",
			"This topology requires nexus %s, but this is nexus %s. Use a release that satisfies the constraint, or change required_version.", s, current)}
	}
	return nil
}

// staticString evaluates an attribute that may not refer to anything to a
// non-null string.
func (l *loader) staticString(a *hcl.Attribute) (string, bool) {
	v, diags := a.Expr.Value(nil)
	l.diags = l.diags.Extend(diags)
	if diags.HasErrors() {
		return "", false
	}
	v, err := convert.Convert(v, cty.String)
	if err != nil || v.IsNull() || !v.IsKnown() {
		l.diags = l.diags.Append(errorDiag(rangePtr(a.Expr.Range()), "Incorrect attribute value type",
			"The argument %q must be a string.", a.Name))
		return "", false
	}
	v, _ = v.Unmark()
	return v.AsString(), true
}
