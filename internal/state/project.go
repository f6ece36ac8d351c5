package state

import (
	"errors"
	"fmt"
)

// ErrClosed is returned (wrapped) by a Store used after Close.
var ErrClosed = errors.New("state store is closed")

// ErrInvalidProject is returned (wrapped) for a project name a store cannot
// use as a directory name or key part.
var ErrInvalidProject = errors.New("invalid project name")

// CheckProject reports whether name can name a project in every store: 1 to
// 128 letters, digits, '_', '.' or '-', starting with a letter or digit (so
// it is a safe directory name, and holds no '{', '}' or ':' that would break
// a Redis key). Config's own rule (^[a-z0-9][a-z0-9_-]*$) is stricter.
func CheckProject(name string) error {
	if !validProject(name) {
		return fmt.Errorf("%w %q: use 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit", ErrInvalidProject, name)
	}
	return nil
}

// validProject is ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$, by hand: the regular
// expression's 128 repetitions took half a millisecond to compile at every
// process start.
func validProject(name string) bool {
	if len(name) == 0 || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// CheckChange reports whether a Change can be written: every set record is
// non-nil with an address and a valid lifecycle state, and every deleted
// address is non-empty. Stores call it before writing anything.
func CheckChange(c Change) error {
	for i, m := range c.Set {
		switch {
		case m == nil:
			return fmt.Errorf("change: set[%d] is nil", i)
		case m.Spec.Address == "":
			return fmt.Errorf("change: set[%d] has no address", i)
		case !m.State.Valid():
			return fmt.Errorf("change: module %q has unknown state %q", m.Spec.Address, m.State)
		}
	}
	for i, a := range c.Delete {
		if a == "" {
			return fmt.Errorf("change: delete[%d] is empty", i)
		}
	}
	return nil
}

// CheckPut reports whether doc can be written by Put with prev: a valid
// document of a usable project whose serial is prev+1. Stores call it
// before touching anything.
func CheckPut(doc *State, prev uint64) error {
	if doc == nil {
		return errors.New("put state: nil document")
	}
	if err := CheckProject(doc.Project); err != nil {
		return fmt.Errorf("put state: %w", err)
	}
	if err := doc.Validate(); err != nil {
		return fmt.Errorf("put state of %q: refusing to write an invalid document: %w", doc.Project, err)
	}
	if doc.Serial != prev+1 {
		return fmt.Errorf("put state of %q: %w: document serial %d must be prev+1 = %d", doc.Project, ErrSerialConflict, doc.Serial, prev+1)
	}
	return nil
}
