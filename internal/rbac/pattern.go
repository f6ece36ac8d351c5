package rbac

import (
	"fmt"
	"strings"
)

// wildcard is the pattern (or last pattern segment) that matches everything.
const wildcard = "*"

// patternKind tells how a compiled pattern matches.
type patternKind int

const (
	matchExact  patternKind = iota // the permission itself
	matchAll                       // "*"
	matchPrefix                    // "module.*": everything under "module."
)

// pattern is a role permission pattern, checked and compiled.
type pattern struct {
	kind patternKind
	// value is the exact name, or for matchPrefix the prefix including its
	// trailing dot ("module.").
	value string
}

// parsePattern checks a role's permission pattern and compiles it. Its error
// is a sentence fit for the config's author.
func parsePattern(s string) (pattern, error) {
	if s == wildcard {
		return pattern{kind: matchAll}, nil
	}
	if prefix, ok := strings.CutSuffix(s, "."+wildcard); ok {
		if err := checkName(prefix); err != nil {
			return pattern{}, fmt.Errorf("%q is not a valid permission pattern: %w", s, err)
		}
		return pattern{kind: matchPrefix, value: prefix + "."}, nil
	}
	if err := checkName(s); err != nil {
		return pattern{}, fmt.Errorf("%q is not a valid permission pattern: %w", s, err)
	}
	return pattern{kind: matchExact, value: s}, nil
}

// checkName checks a dotted permission name without wildcards.
func checkName(s string) error {
	if s == "" {
		return fmt.Errorf("it is empty; write a permission such as \"module.load\", \"module.*\" or \"*\"")
	}
	for i, seg := range strings.Split(s, ".") {
		if seg == "" {
			return fmt.Errorf("segment %d is empty; segments are separated by single dots, as in \"module.load\"", i+1)
		}
		if seg == wildcard || strings.Contains(seg, wildcard) {
			return fmt.Errorf("a wildcard may only be the whole last segment, as in \"module.*\", or the whole pattern \"*\"")
		}
		for _, r := range seg {
			if !isNameRune(r) {
				return fmt.Errorf("segment %q holds %q; segments hold only letters, digits, \"_\" and \"-\"", seg, r)
			}
		}
	}
	return nil
}

func isNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}
