package rbac

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrPermissionDenied is matched (errors.Is) by every *DeniedError.
var ErrPermissionDenied = errors.New("permission denied")

// Need is what a request needs for one module: the verbs of the module's
// action ("module.load", "module.start", ...) and the module's required
// permissions (its kind's manifest plus the block's `permissions`). A Need
// with an empty Module holds what the request needs as a whole, such as
// "apply".
type Need struct {
	// Module identifies the module in the denial message: its id or address.
	Module string
	// Permissions are permission names (no patterns).
	Permissions []string
}

// Missing is one permission a principal lacks for one module.
type Missing struct {
	// Module is the Need's Module; empty for the request as a whole.
	Module     string
	Permission string
}

// DeniedError says that a principal lacks permissions, and which.
type DeniedError struct {
	Principal string
	// Missing lists every missing permission, sorted by module then
	// permission, without duplicates.
	Missing []Missing
	// Unknown is true when the principal is not declared in the daemon
	// config at all.
	Unknown bool
}

// Error names every missing permission of every module:
//
//	permission denied for principal "ci": missing apply; module.load, module.start for synapse/bus
func (e *DeniedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s for principal %q", ErrPermissionDenied, e.Principal)
	if e.Unknown {
		b.WriteString(" (not declared in the daemon config)")
	}
	b.WriteString(": missing ")
	for i := 0; i < len(e.Missing); {
		j := i
		for j < len(e.Missing) && e.Missing[j].Module == e.Missing[i].Module {
			j++
		}
		if i > 0 {
			b.WriteString("; ")
		}
		for k := i; k < j; k++ {
			if k > i {
				b.WriteString(", ")
			}
			if perm := e.Missing[k].Permission; perm != "" {
				b.WriteString(perm)
			} else {
				b.WriteString(`""`) // an empty name from a broken manifest
			}
		}
		if m := e.Missing[i].Module; m != "" {
			b.WriteString(" for ")
			b.WriteString(m)
		}
		i = j
	}
	return b.String()
}

// Is makes errors.Is(err, ErrPermissionDenied) true.
func (e *DeniedError) Is(target error) bool { return target == ErrPermissionDenied }

// Authorize checks every permission of every need and returns nil when the
// principal holds them all, or a *DeniedError naming each one it lacks. It
// never stops at the first gap, so one denial tells the operator everything
// to grant. Needs that list no permissions need nothing.
func (p *Policy) Authorize(principal string, needs []Need) error {
	var g *grants
	if p != nil {
		g = p.principals[principal]
	}
	var missing []Missing
	for _, n := range needs {
		for _, perm := range n.Permissions {
			if !g.allows(perm) {
				missing = append(missing, Missing{Module: n.Module, Permission: perm})
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.SortFunc(missing, func(a, b Missing) int {
		return cmp.Or(strings.Compare(a.Module, b.Module), strings.Compare(a.Permission, b.Permission))
	})
	return &DeniedError{Principal: principal, Missing: slices.Compact(missing), Unknown: !p.Known(principal)}
}

var _ error = (*DeniedError)(nil)
