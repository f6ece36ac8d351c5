package planner

import (
	"fmt"

	"github.com/nexus-run/nexus/modules"
)

// Action is what a plan does to one module instance, named by its marker.
type Action rune

// The actions. Replace is stored as '±' and rendered "-/+".
const (
	NoOp    Action = 0
	Create  Action = '+'
	Destroy Action = '-'
	Update  Action = '~'
	Replace Action = '±'
	Start   Action = '>'
	Stop    Action = '#'
	Restart Action = '↻'
)

var actionNames = map[Action]string{
	NoOp: "no-op", Create: "create", Destroy: "destroy", Update: "update",
	Replace: "replace", Start: "start", Stop: "stop", Restart: "restart",
}

// Marker returns the action's plan marker: "+", "-", "~", "-/+", ">", "#", "↻".
func (a Action) Marker() string {
	switch a {
	case Replace:
		return "-/+"
	case NoOp:
		return " "
	}
	return string(a)
}

// String returns the action's name: "create", "replace", ...
func (a Action) String() string {
	if n, ok := actionNames[a]; ok {
		return n
	}
	return fmt.Sprintf("Action(%d)", rune(a))
}

// IsReplace reports whether the action stops and recreates the module.
func (a Action) IsReplace() bool { return a == Replace }

// StopsModule reports whether the action stops a running module at some point.
func (a Action) StopsModule() bool {
	return a == Destroy || a == Replace || a == Stop || a == Restart
}

// StartsModule reports whether the action (re)starts the module.
func (a Action) StartsModule() bool {
	return a == Create || a == Replace || a == Start || a == Restart
}

// Transitions returns the lifecycle transitions the action performs, in order.
func (a Action) Transitions() []modules.Transition {
	switch a {
	case Create:
		return []modules.Transition{modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart}
	case Destroy:
		return []modules.Transition{modules.TransitionStop, modules.TransitionUnload}
	case Update:
		return []modules.Transition{modules.TransitionReconfigure}
	case Replace:
		return []modules.Transition{modules.TransitionStop, modules.TransitionUnload, modules.TransitionInit, modules.TransitionLoad, modules.TransitionStart}
	case Start:
		return []modules.Transition{modules.TransitionStart}
	case Stop:
		return []modules.Transition{modules.TransitionStop}
	case Restart:
		return []modules.Transition{modules.TransitionStop, modules.TransitionStart}
	}
	return nil
}

// Verbs returns the permissions applying the action needs, beside "apply":
// a replace needs both module.unload and module.load.
func (a Action) Verbs() []string {
	switch a {
	case Create:
		return []string{"module.load"}
	case Destroy:
		return []string{"module.unload"}
	case Update:
		return []string{"module.reconfigure"}
	case Replace:
		return []string{"module.unload", "module.load"}
	case Start:
		return []string{"module.start"}
	case Stop:
		return []string{"module.stop"}
	case Restart:
		return []string{"module.stop", "module.start"}
	}
	return nil
}

// MarshalText writes the action's name.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads an action's name.
func (a *Action) UnmarshalText(b []byte) error {
	for act, name := range actionNames {
		if name == string(b) {
			*a = act
			return nil
		}
	}
	return fmt.Errorf("unknown action %q", b)
}
