package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/nexus-run/nexus/internal/state"
)

// Defaults of Options.
const (
	DefaultAddr         = "127.0.0.1:6379"
	DefaultKeyPrefix    = "nexus"
	DefaultLockTTL      = 15 * time.Second
	DefaultHistoryLimit = 100
)

// Options configure a Store. The zero value talks to DefaultAddr.
type Options struct {
	// Addr is host:port. Default 127.0.0.1:6379.
	Addr string
	// Username and Password authenticate (AUTH); both optional.
	Username string
	Password string
	// DB is the database number (SELECT).
	DB int
	// TLS, when set, is used to connect.
	TLS *tls.Config
	// KeyPrefix starts every key. Default "nexus".
	KeyPrefix string
	// LockTTL is how long a lock outlives its holder's last renewal; it is
	// renewed every LockTTL/3 while held. Default 15s.
	LockTTL time.Duration
	// HistoryLimit is how many serials of history each project keeps.
	// Default 100.
	HistoryLimit int
	// DialTimeout bounds connecting. Default 5s.
	DialTimeout time.Duration
}

// Store is the Redis state store. It is safe for concurrent use.
type Store struct {
	client *goredis.Client
	opts   Options

	mu     sync.Mutex
	closed bool
	locks  map[string]*heldLock
}

// New connects to Redis, checks that it answers and returns the Store. It
// fails at once, naming the address, when the server cannot be reached.
func New(ctx context.Context, opts Options) (*Store, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = DefaultKeyPrefix
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = DefaultLockTTL
	}
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = DefaultHistoryLimit
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	client := goredis.NewClient(&goredis.Options{
		Addr: opts.Addr, Username: opts.Username, Password: opts.Password, DB: opts.DB,
		TLSConfig: opts.TLS, DialTimeout: opts.DialTimeout,
	})
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis state store: cannot reach %s: %w (is Redis running there, and are the address, password and TLS settings right?)", opts.Addr, err)
	}
	return &Store{client: client, opts: opts, locks: map[string]*heldLock{}}, nil
}

// keys of one project.
type keys struct{ meta, modules, history, lock string }

func (s *Store) keys(project string) keys {
	base := s.opts.KeyPrefix + ":{" + project + "}:"
	return keys{meta: base + "meta", modules: base + "modules", history: base + "history", lock: base + "lock"}
}

// check validates the project name and that the Store is open.
func (s *Store) check(project string) error {
	if err := state.CheckProject(project); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("redis state store %s: %w", s.opts.Addr, state.ErrClosed)
	}
	return nil
}

// wrap adds the operation, and the server for errors that are not the
// store's own, to err.
func (s *Store) wrap(op, project string, err error) error {
	var le *state.LockedError
	if errors.Is(err, state.ErrSerialConflict) || errors.Is(err, state.ErrLineageMismatch) || errors.As(err, &le) ||
		errors.Is(err, state.ErrNotFound) || errors.Is(err, state.ErrNotLocked) {
		return fmt.Errorf("%s state of %q: %w", op, project, err)
	}
	return fmt.Errorf("%s state of %q in redis %s: %w", op, project, s.opts.Addr, err)
}

// Close stops lock renewal, releases the locks this Store holds and closes
// the client.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	locks := s.locks
	s.locks = map[string]*heldLock{}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, l := range locks {
		if _, err := s.release(ctx, l); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.client.Close())
	return errors.Join(errs...)
}

var _ state.Store = (*Store)(nil)
