package records_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nexus-run/nexus/internal/state"
	"github.com/nexus-run/nexus/internal/state/internal/records"
	"github.com/nexus-run/nexus/internal/state/statetest"
)

func TestEncodeDecode_roundTrip(t *testing.T) {
	mods := make([]*state.Module, 300) // above the parallel threshold
	addrs := make([]string, len(mods))
	for i := range mods {
		mods[i], addrs[i] = statetest.Module(i, 3), statetest.Address(i)
	}
	bodies, err := records.Encode(mods)
	if err != nil {
		t.Fatal(err)
	}
	got, err := records.Decode(addrs, strs(bodies), func(i int) string { return addrs[i] })
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		a := &state.State{Version: 1, Lineage: "l", Modules: map[string]*state.Module{addrs[i]: m}}
		b := &state.State{Version: 1, Lineage: "l", Modules: map[string]*state.Module{addrs[i]: mods[i]}}
		if d := statetest.Diff(a, b); d != "" {
			t.Fatalf("record %d: %s", i, d)
		}
	}
}

func TestDecode_namesTheBadRecord(t *testing.T) {
	good, _ := records.Encode([]*state.Module{statetest.Module(0, 1), statetest.Module(1, 1)})
	tests := map[string]struct {
		addrs  []string
		bodies []string
	}{
		"bad JSON":        {[]string{statetest.Address(0), "module.x.y"}, []string{string(good[0]), `{"spec":`}},
		"another address": {[]string{statetest.Address(0), "module.x.y"}, []string{string(good[0]), string(good[1])}},
		"unknown state":   {[]string{"module.x.y"}, []string{`{"spec":{"address":"module.x.y"},"state":"sleeping"}`}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := records.Decode(tt.addrs, tt.bodies, func(i int) string { return fmt.Sprintf("row %d", i) })
			if !errors.Is(err, state.ErrCorrupt) {
				t.Fatalf("Decode:\ngot:  %v\nwant: an error wrapping %q", err, state.ErrCorrupt)
			}
			if want := fmt.Sprintf("row %d", len(tt.addrs)-1); err.Error()[:len(want)] != want {
				t.Fatalf("Decode error does not name the record:\ngot:  %v\nwant: it to start with %q", err, want)
			}
		})
	}
}

func TestDedup_keepsTheLastRecordPerAddress(t *testing.T) {
	a1, b, a2 := statetest.Module(1, 1), statetest.Module(2, 1), statetest.Module(1, 2)
	got := records.Dedup([]*state.Module{a1, b, a2})
	if len(got) != 2 || got[0] != b || got[1] != a2 {
		t.Fatalf("Dedup:\ngot:  %v\nwant: [b a2]", got)
	}
}

func TestDigest_dependsOnEverything(t *testing.T) {
	base := records.Digest(1, "apply", []byte("a"), []byte("b"))
	for name, d := range map[string]string{
		"prev":    records.Digest(2, "apply", []byte("a"), []byte("b")),
		"kind":    records.Digest(1, "put", []byte("a"), []byte("b")),
		"content": records.Digest(1, "apply", []byte("a"), []byte("c")),
		"framing": records.Digest(1, "apply", []byte("ab"), []byte("")),
	} {
		if d == base {
			t.Errorf("digest does not change with %s", name)
		}
	}
	if records.Digest(1, "apply", []byte("a"), []byte("b")) != base {
		t.Errorf("digest is not deterministic")
	}
}

func strs(bodies [][]byte) []string {
	out := make([]string, len(bodies))
	for i, b := range bodies {
		out[i] = string(b)
	}
	return out
}
