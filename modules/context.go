package modules

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Context is a module instance's environment, handed to Init and valid for
// the instance's whole life. Its methods are safe for concurrent use.
type Context struct {
	id, address, node, dataDir string
	logger                     *slog.Logger
	metrics                    *Metrics
	limits                     Limits
	timeouts                   Timeouts
	dirOnce                    sync.Once

	mu     sync.Mutex
	config Config
	blob   []byte
	run    *run // the current started period; nil when not started

	requests, errors atomic.Uint64
	exits            chan error
}

// run is one started period of a module: the goroutines spawned by Go, and
// the context that cancels them.
type run struct {
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopping atomic.Bool
}

// ID returns the module's id, such as "vitals/heartbeat".
func (c *Context) ID() string { return c.id }

// Address returns the module's address, such as "module.vitals.heartbeat".
func (c *Context) Address() string { return c.address }

// Node returns the name of the host the daemon runs on.
func (c *Context) Node() string { return c.node }

// DataDir returns a directory the module owns for logs, secret files and
// scratch data. It survives restarts. The first call creates it (mode 0700,
// tightening an existing one), so the thousands of modules that never need
// one cost no file system work; should that fail, the error is logged and
// the module's own use of the directory reports it. "" means the module has
// no directory.
func (c *Context) DataDir() string {
	if c.dataDir != "" {
		c.dirOnce.Do(func() {
			if err := ensurePrivateDir(c.dataDir); err != nil {
				c.logger.Error("create the module's data directory", "dir", c.dataDir, "error", err)
			}
		})
	}
	return c.dataDir
}

// ensurePrivateDir creates dir with mode 0700, or restricts an existing one
// to 0700.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if info.Mode().Perm() != 0o700 {
		return os.Chmod(dir, 0o700)
	}
	return nil
}

// Logger returns a logger whose records carry the module's id.
func (c *Context) Logger() *slog.Logger { return c.logger }

// Metrics returns the module's metrics helper.
func (c *Context) Metrics() *Metrics { return c.metrics }

// Limits returns the module block's resource limits.
func (c *Context) Limits() Limits { return c.limits }

// Timeouts returns the module block's transition timeouts.
func (c *Context) Timeouts() Timeouts { return c.timeouts }

// Config returns the module's current resolved config.
func (c *Context) Config() Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.config
}

// Blob returns the state blob the module saved when it last stopped (nil
// when none), as restored from the persisted state.
func (c *Context) Blob() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blob
}

// SaveBlob sets the small blob persisted with the module's state when it
// stops and handed back by Blob after a reload. Keep it under 64 KiB.
func (c *Context) SaveBlob(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blob = append([]byte(nil), b...)
}

// Go runs fn in a goroutine owned by the module's current started period.
// fn's context is cancelled when the module stops, and Stop waits for fn to
// return. If fn returns (or panics) while the module is started and not
// stopping, the module has exited: with a nil error it exited cleanly, else
// it failed, and its restart policy decides what follows.
//
// Go panics when called while the module is not started or starting; that is
// a programming mistake in the module.
func (c *Context) Go(name string, fn func(ctx context.Context) error) {
	c.mu.Lock()
	r := c.run
	c.mu.Unlock()
	if r == nil {
		panic(fmt.Sprintf("module %s: Context.Go(%q) called outside Start", c.id, name))
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := c.callGoroutine(r.ctx, name, fn)
		if r.stopping.Load() || r.ctx.Err() != nil {
			return
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
		select {
		case c.exits <- err:
		default: // an exit is already pending; the module is being restarted
		}
	}()
}

func (c *Context) callGoroutine(ctx context.Context, name string, fn func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.logger.Error("module goroutine panicked", "goroutine", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %v", ErrPanic, p)
		}
	}()
	return fn(ctx)
}

// Track runs one operation of the module (a request, a beat, a job), counting
// it in requests_total, counting a non-nil error in errors_total, and timing
// it in the module's operation duration histogram. It returns fn's error.
func (c *Context) Track(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	start := time.Now()
	err := fn(ctx)
	c.requests.Add(1)
	if err != nil {
		c.errors.Add(1)
	}
	c.metrics.observeOperation(op, time.Since(start), err)
	return err
}

// Counts returns the number of tracked operations and how many failed.
func (c *Context) Counts() (requests, errors uint64) {
	return c.requests.Load(), c.errors.Load()
}
