package state

import (
	"runtime"
	"strings"
	"sync"

	"github.com/nexus-run/nexus/internal/jsonx"
)

// parallelChunk is the size of text a goroutine decoding a document's
// modules takes at least: below it, one goroutine is as fast.
const parallelChunk = 128 << 10

// readModules reads the modules object of a document (src is the whole
// text), or nil for null.
func readModules(r *jsonx.Reader, src string) map[string]*Module {
	if r.Null() {
		return nil
	}
	if workers := min(runtime.GOMAXPROCS(0), (len(src)-r.Offset())/parallelChunk); workers > 1 {
		if mods, ok := readModulesParallel(r, src, workers); ok {
			return mods
		}
	}
	mods := map[string]*Module{}
	if !r.BeginObject() {
		return nil
	}
	for r.More() {
		addr := r.Key()
		mods[addr] = ReadModule(r)
	}
	return mods
}

// chunk is what one goroutine read of the modules object: the records from
// its start to the first member boundary at or past its limit (stop, where
// the next member starts), or to the object's end (done, stop after '}').
type chunk struct {
	addrs []string
	mods  []*Module
	stop  int
	done  bool
	err   error
}

// readModulesParallel reads the modules object in chunks on several
// goroutines. It guesses where members start: at a line start (a document
// Encode wrote has one record per line), and reads each chunk from its
// guess on. A guess is confirmed when the chunk before it, read from a
// confirmed start, ends exactly there: then every record was read as a
// sequential reading would. ok is false, and r untouched, when a guess is
// wrong (another layout) or a chunk has an error: the caller then reads
// sequentially, which also reports the error where it is.
func readModulesParallel(r *jsonx.Reader, src string, workers int) (map[string]*Module, bool) {
	open := r.SkipSpace()
	if open >= len(src) || src[open] != '{' {
		return nil, false
	}
	starts := []int{open + 1}
	size := (len(src) - open) / workers
	for k := 1; k < workers; k++ {
		at := open + k*size
		nl := strings.IndexByte(src[at:], '\n')
		if nl < 0 {
			break
		}
		if p := at + nl + 1; p > starts[len(starts)-1] {
			starts = append(starts, p)
		}
	}
	chunks := make([]chunk, len(starts))
	var wg sync.WaitGroup
	for k := range starts {
		limit := len(src)
		if k+1 < len(starts) {
			limit = starts[k+1]
		}
		wg.Go(func() { chunks[k] = readChunk(src, starts[k], limit) })
	}
	wg.Wait()
	n := 0
	for _, c := range chunks {
		n += len(c.addrs)
	}
	mods := make(map[string]*Module, n)
	for k, c := range chunks {
		if c.err != nil || k > 0 && chunks[k-1].stop != jsonx.NewReaderAt(src, starts[k]).SkipSpace() {
			return nil, false
		}
		for i, addr := range c.addrs {
			mods[addr] = c.mods[i]
		}
		if c.done {
			r.SkipTo(c.stop)
			return mods, true
		}
	}
	return nil, false
}

// readChunk reads members from start until one ends at or past limit, or
// the object ends.
func readChunk(src string, start, limit int) (c chunk) {
	r := jsonx.NewReaderAt(src, start)
	if p := r.SkipSpace(); p < len(src) && src[p] == '}' {
		r.Next("}")
		c.stop, c.done = r.Offset(), true
		return c
	}
	for {
		addr := r.Key()
		m := ReadModule(r)
		if r.Err() != nil {
			c.err = r.Err()
			return c
		}
		c.addrs, c.mods = append(c.addrs, addr), append(c.mods, m)
		switch r.Next(",}") {
		case '}':
			c.stop, c.done = r.Offset(), true
			return c
		case ',':
			if p := r.SkipSpace(); p >= limit {
				c.stop = p
				return c
			}
		default:
			c.err = r.Err()
			return c
		}
	}
}
