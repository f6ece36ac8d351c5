package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nexus-run/nexus/internal/state"
)

// scriptedStore answers every call with err.
type scriptedStore struct {
	state.Store
	err error
}

func (s scriptedStore) Get(context.Context, string) (*state.State, error) { return nil, s.err }
func (s scriptedStore) Put(context.Context, *state.State, uint64, string) error {
	return s.err
}
func (s scriptedStore) Apply(context.Context, string, uint64, state.Change) error { return s.err }
func (s scriptedStore) Lock(context.Context, string, state.LockInfo) error        { return s.err }
func (s scriptedStore) Unlock(context.Context, string, string) error              { return s.err }

func TestInstrumentStore_resultLabels(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"success":      {nil, "ok"},
		"no state yet": {fmt.Errorf("get: %w", state.ErrNotFound), "ok"},
		"lock held":    {&state.LockedError{Project: "p"}, "locked"},
		"serial":       {fmt.Errorf("apply: %w", state.ErrSerialConflict), "conflict"},
		"lineage":      {state.ErrLineageMismatch, "conflict"},
		"broken":       {errors.New("connection refused"), "error"},
	} {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := New(reg, func() []ModuleSample { return nil })
			s := InstrumentStore(scriptedStore{err: tc.err}, "postgres", m)
			ctx := context.Background()
			_, _ = s.Get(ctx, "p")
			_ = s.Put(ctx, nil, 0, "")
			_ = s.Apply(ctx, "p", 0, state.Change{})
			_ = s.Lock(ctx, "p", state.LockInfo{})
			_ = s.Unlock(ctx, "p", "id")
			var want strings.Builder
			want.WriteString("# HELP nexus_state_store_duration_seconds Latency of state store calls, by store, operation and result (ok, locked, conflict, error).\n# TYPE nexus_state_store_duration_seconds histogram\n")
			for _, op := range []string{"apply", "get", "lock", "put", "unlock"} {
				fmt.Fprintf(&want, "nexus_state_store_duration_seconds_count{operation=%q,result=%q,store=\"postgres\"} 1\n", op, tc.want)
			}
			got, err := testutil.GatherAndCount(reg, "nexus_state_store_duration_seconds")
			if err != nil || got != 5 {
				t.Fatalf("got: %d series (%v)\nwant: 5, one per operation", got, err)
			}
			// Compare the counts only: the buckets and sums hold timings.
			mfs, _ := reg.Gather()
			var lines []string
			for _, mf := range mfs {
				if mf.GetName() != "nexus_state_store_duration_seconds" {
					continue
				}
				for _, m := range mf.GetMetric() {
					l := map[string]string{}
					for _, lp := range m.GetLabel() {
						l[lp.GetName()] = lp.GetValue()
					}
					lines = append(lines, fmt.Sprintf("nexus_state_store_duration_seconds_count{operation=%q,result=%q,store=%q} %d\n",
						l["operation"], l["result"], l["store"], m.GetHistogram().GetSampleCount()))
				}
			}
			head := "# HELP nexus_state_store_duration_seconds Latency of state store calls, by store, operation and result (ok, locked, conflict, error).\n# TYPE nexus_state_store_duration_seconds histogram\n"
			if got := head + strings.Join(lines, ""); got != want.String() {
				t.Errorf("got:\n%s\nwant:\n%s", got, want.String())
			}
		})
	}
}

func TestInstrumentStore_nilMetricsLeavesStoreAlone(t *testing.T) {
	s := scriptedStore{}
	if got := InstrumentStore(s, "file", nil); got != state.Store(s) {
		t.Errorf("got: %T\nwant: the store itself", got)
	}
	wrapped := InstrumentStore(s, "file", New(prometheus.NewRegistry(), func() []ModuleSample { return nil }))
	if u, ok := wrapped.(interface{ Unwrap() state.Store }); !ok || u.Unwrap() != state.Store(s) {
		t.Errorf("got: %T\nwant: a wrapper whose Unwrap gives the store back", wrapped)
	}
}
