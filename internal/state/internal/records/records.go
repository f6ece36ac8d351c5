// Package records encodes module records for the stores that keep one
// record per row or hash field (PostgreSQL, Redis): with the state's own
// codec, in parallel for a large document, and with the digests that make
// a retried write idempotent.
package records

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"runtime"
	"sync"

	"github.com/nexus-run/nexus/internal/state"
)

// parallelMin is the record count below which one goroutine is faster.
const parallelMin = 64

// Encode returns the JSON of each record, in order.
func Encode(mods []*state.Module) ([][]byte, error) {
	out := make([][]byte, len(mods))
	err := each(len(mods), func(i int) error {
		buf, err := state.AppendModule(make([]byte, 0, 2048), mods[i])
		if err != nil {
			return fmt.Errorf("encode module %q: %w", mods[i].Spec.Address, err)
		}
		out[i] = buf
		return nil
	})
	return out, err
}

// Decode decodes records stored under the given addresses. A body that
// does not parse, or holds another address, is an error wrapping
// state.ErrCorrupt that names where (the result of where(i)). The records
// share the bodies' memory.
func Decode(addrs []string, bodies []string, where func(i int) string) ([]*state.Module, error) {
	out := make([]*state.Module, len(bodies))
	err := each(len(bodies), func(i int) error {
		m, err := state.DecodeModule(bodies[i])
		if err != nil {
			return fmt.Errorf("%s: %w: %v", where(i), state.ErrCorrupt, err)
		}
		if m.Spec.Address != addrs[i] {
			return fmt.Errorf("%s: %w: holds the record of %q", where(i), state.ErrCorrupt, m.Spec.Address)
		}
		if !m.State.Valid() {
			return fmt.Errorf("%s: %w: unknown state %q", where(i), state.ErrCorrupt, m.State)
		}
		out[i] = m
		return nil
	})
	return out, err
}

// each runs fn(0..n-1) on up to GOMAXPROCS goroutines, all awaited, and
// returns the error of the lowest index that failed.
func each(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n/parallelMin+1)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				errs[i] = fn(i)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Digest identifies one write: the serial it expects, its kind and its
// content. A store records the digest of its last write, so that a retry
// of a write whose reply was lost (same prev, same content) is recognised
// as already done rather than reported as a serial conflict.
func Digest(prev uint64, kind string, parts ...[]byte) string {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], prev)
	h.Write(n[:])
	h.Write([]byte(kind))
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Dedup returns set with one record per address, the last one given, as
// state.State.Apply would leave it; order otherwise kept.
func Dedup(set []*state.Module) []*state.Module {
	last := make(map[string]int, len(set))
	for i, m := range set {
		last[m.Spec.Address] = i
	}
	if len(last) == len(set) {
		return set
	}
	out := make([]*state.Module, 0, len(last))
	for i, m := range set {
		if last[m.Spec.Address] == i {
			out = append(out, m)
		}
	}
	return out
}
