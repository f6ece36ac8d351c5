package modules

import (
	"errors"
	"fmt"
)

// State is a module instance's lifecycle state.
type State string

// The lifecycle states: absent → initialized → loaded → started ⇄ stopped →
// unloaded, plus failed.
const (
	StateAbsent      State = "absent"
	StateInitialized State = "initialized"
	StateLoaded      State = "loaded"
	StateStarted     State = "started"
	StateStopped     State = "stopped"
	StateUnloaded    State = "unloaded"
	StateFailed      State = "failed"
)

// Valid reports whether s is one of the lifecycle states.
func (s State) Valid() bool {
	switch s {
	case StateAbsent, StateInitialized, StateLoaded, StateStarted, StateStopped, StateUnloaded, StateFailed:
		return true
	}
	return false
}

// Running reports whether a module in state s is running.
func (s State) Running() bool { return s == StateStarted }

// Transition is one lifecycle step.
type Transition string

// The lifecycle transitions.
const (
	TransitionInit        Transition = "init"
	TransitionLoad        Transition = "load"
	TransitionStart       Transition = "start"
	TransitionStop        Transition = "stop"
	TransitionUnload      Transition = "unload"
	TransitionReconfigure Transition = "reconfigure"
)

// ErrInvalidTransition is returned (wrapped) when a transition is not allowed
// from a module's current state, such as start before load.
var ErrInvalidTransition = errors.New("invalid lifecycle transition")

// Next returns the state that transition t leads to from state s, or an error
// wrapping ErrInvalidTransition. Stop is idempotent (stopped → stopped) and a
// failed module may be stopped, restarted or unloaded.
func (s State) Next(t Transition) (State, error) {
	ok := false
	var next State
	switch t {
	case TransitionInit:
		ok, next = s == StateAbsent || s == StateUnloaded, StateInitialized
	case TransitionLoad:
		ok, next = s == StateInitialized, StateLoaded
	case TransitionStart:
		ok, next = s == StateLoaded || s == StateStopped || s == StateFailed, StateStarted
	case TransitionStop:
		ok, next = s == StateStarted || s == StateStopped || s == StateFailed || s == StateLoaded, StateStopped
	case TransitionUnload:
		ok, next = s == StateStopped || s == StateLoaded || s == StateInitialized || s == StateFailed, StateUnloaded
	case TransitionReconfigure:
		ok, next = s == StateStarted || s == StateStopped || s == StateLoaded, s
	}
	if !ok {
		return s, fmt.Errorf("%w: %s from %s", ErrInvalidTransition, t, s)
	}
	return next, nil
}
