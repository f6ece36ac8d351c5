package telemetry

import (
	"io"
	"sync"
)

// DefaultLogBuffer is how much log output an AsyncWriter holds before
// writers wait for it.
const DefaultLogBuffer = 4 << 20

// AsyncWriter takes log output into memory and writes it out, in order, on
// a goroutine of its own, so that a slow consumer (journald under load, a
// terminal being scrolled, a pipe nobody reads for a while) does not hold
// up the transitions that log. A write returns at once unless max bytes
// are already waiting, in which case it waits for room: output is never
// dropped. The goroutine writes whatever has gathered in one write, so a
// burst of lines costs a few system calls rather than one each.
//
// Flush waits until everything written so far is out; NewLogger flushes
// after every record at warn and above, so those never wait in memory.
// Close flushes and stops the goroutine; writes after Close go straight
// through. Output written when the process dies abruptly may be lost, as
// it would be in a pipe's buffer. Safe for concurrent use.
type AsyncWriter struct {
	w   io.Writer
	max int

	mu      sync.Mutex
	cond    *sync.Cond // broadcast on every change below
	buf     []byte     // waiting to be written
	spare   []byte     // the buffer the goroutine wrote last, for reuse
	taken   uint64     // bytes accepted by Write, in total
	written uint64     // bytes the goroutine has written (or failed to)
	err     error      // the first error writing to w
	closed  bool
	exited  chan struct{}
}

// NewAsyncWriter starts an AsyncWriter in front of w holding up to max
// bytes (0 means DefaultLogBuffer). Close it to stop its goroutine.
func NewAsyncWriter(w io.Writer, max int) *AsyncWriter {
	if max <= 0 {
		max = DefaultLogBuffer
	}
	a := &AsyncWriter{w: w, max: max, exited: make(chan struct{})}
	a.cond = sync.NewCond(&a.mu)
	go a.run()
	return a
}

// Write takes p for writing; it waits only while the buffer is full.
func (a *AsyncWriter) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for !a.closed && len(a.buf) > 0 && len(a.buf)+len(p) > a.max {
		a.cond.Wait()
	}
	if a.closed {
		return a.w.Write(p) // under mu: after Close, writes keep their order
	}
	a.buf = append(a.buf, p...)
	a.taken += uint64(len(p))
	a.cond.Broadcast()
	return len(p), nil
}

// Flush waits until everything written before it is out, and returns the
// first error writing out met, if any.
func (a *AsyncWriter) Flush() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	// The goroutine stops only once it wrote everything taken.
	for target := a.taken; a.written < target; {
		a.cond.Wait()
	}
	return a.err
}

// Close writes out what is buffered, stops the goroutine, and returns the
// first error writing out met, if any. It is safe to call more than once.
func (a *AsyncWriter) Close() error {
	a.mu.Lock()
	a.closed = true
	a.cond.Broadcast()
	a.mu.Unlock()
	<-a.exited
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// Unwrap returns the writer output goes to, for NewLogger's terminal
// check.
func (a *AsyncWriter) Unwrap() io.Writer { return a.w }

// run writes out the buffer whenever it holds something, until Close has
// been called and it is empty.
func (a *AsyncWriter) run() {
	defer close(a.exited)
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		for len(a.buf) == 0 && !a.closed {
			a.cond.Wait()
		}
		if len(a.buf) == 0 {
			return // closed and drained
		}
		batch := a.buf
		a.buf = a.spare[:0]
		a.mu.Unlock()
		_, err := a.w.Write(batch)
		a.mu.Lock()
		if err != nil && a.err == nil {
			a.err = err
		}
		a.written += uint64(len(batch))
		a.spare = batch
		a.cond.Broadcast()
	}
}

var (
	_ io.Writer = (*AsyncWriter)(nil)
	_ flusher   = (*AsyncWriter)(nil)
)
