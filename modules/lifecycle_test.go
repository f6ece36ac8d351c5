package modules

import (
	"errors"
	"testing"
)

func TestState_Next(t *testing.T) {
	tests := map[string]struct {
		from    State
		t       Transition
		want    State
		wantErr bool
	}{
		"init from absent":          {StateAbsent, TransitionInit, StateInitialized, false},
		"init again after unload":   {StateUnloaded, TransitionInit, StateInitialized, false},
		"load after init":           {StateInitialized, TransitionLoad, StateLoaded, false},
		"start after load":          {StateLoaded, TransitionStart, StateStarted, false},
		"start before load":         {StateInitialized, TransitionStart, StateInitialized, true},
		"start from absent":         {StateAbsent, TransitionStart, StateAbsent, true},
		"stop is idempotent":        {StateStopped, TransitionStop, StateStopped, false},
		"stop a failed module":      {StateFailed, TransitionStop, StateStopped, false},
		"restart after stop":        {StateStopped, TransitionStart, StateStarted, false},
		"unload after stop":         {StateStopped, TransitionUnload, StateUnloaded, false},
		"unload while started":      {StateStarted, TransitionUnload, StateStarted, true},
		"reconfigure while started": {StateStarted, TransitionReconfigure, StateStarted, false},
		"reconfigure when absent":   {StateAbsent, TransitionReconfigure, StateAbsent, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tt.from.Next(tt.t)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidTransition) {
				t.Errorf("got: %v, want: an ErrInvalidTransition", err)
			}
			if got != tt.want {
				t.Errorf("got: %s, want: %s", got, tt.want)
			}
		})
	}
}
