package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nexus-run/nexus/internal/state"
)

// DefaultHistoryLimit is Options.HistoryLimit's default.
const DefaultHistoryLimit = 100

// Options tune a Store. The zero value gives the defaults.
type Options struct {
	// Schema holds the store's tables; it is created when missing. Empty:
	// the DSN's search_path (normally public).
	Schema string
	// HistoryLimit is how many serials of history each project keeps.
	// Default 100.
	HistoryLimit int
	// ApplicationName is the connections' application_name, as
	// pg_stat_activity shows it. Default "nexus".
	ApplicationName string
	// MaxConns caps the pool (a held lock uses one more connection of its
	// own). 0: pgx's default.
	MaxConns int32
}

// Store is the PostgreSQL state store. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	opts   Options
	target string // host:port/database, for messages (never the DSN: it may hold a password)

	mu     sync.Mutex
	closed bool
	locks  map[string]*heldLock
}

// New connects to the database dsn names (a URL or key=value string, as
// pgx reads it), creates or migrates the store's tables and returns the
// Store. It fails at once, naming the address, when the server cannot be
// reached.
func New(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = DefaultHistoryLimit
	}
	if opts.ApplicationName == "" {
		opts.ApplicationName = "nexus"
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres state store: %w", err)
	}
	cc := cfg.ConnConfig
	target := fmt.Sprintf("%s:%d/%s", cc.Host, cc.Port, cc.Database)
	cc.RuntimeParams["application_name"] = opts.ApplicationName
	if opts.Schema != "" {
		cc.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres state store %s: %w", target, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres state store: cannot connect to %s as %q: %w (is PostgreSQL running there, and are the DSN's address and credentials right?)", target, cc.User, err)
	}
	if err := migrate(ctx, pool, opts.Schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres state store %s: migrate: %w", target, err)
	}
	return &Store{pool: pool, opts: opts, target: target, locks: map[string]*heldLock{}}, nil
}

// check validates the project name and that the Store is open.
func (s *Store) check(project string) error {
	if err := state.CheckProject(project); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("postgres state store %s: %w", s.target, state.ErrClosed)
	}
	return nil
}

// wrap adds the store and the operation to a database error.
func (s *Store) wrap(op, project string, err error) error {
	var le *state.LockedError
	if errors.Is(err, state.ErrSerialConflict) || errors.Is(err, state.ErrLineageMismatch) || errors.As(err, &le) ||
		errors.Is(err, state.ErrNotFound) || errors.Is(err, state.ErrNotLocked) {
		return fmt.Errorf("%s state of %q: %w", op, project, err)
	}
	return fmt.Errorf("%s state of %q in postgres %s: %w", op, project, s.target, err)
}

// Close releases the locks this Store holds and closes its connections.
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
	ctx := context.Background()
	for _, l := range locks {
		if l.conn != nil { // nil: a Lock in progress, which releases it when it sees closed
			l.release(ctx)
		}
	}
	s.pool.Close()
	return nil
}

// lockNamespace is the first key of the store's advisory locks: one per
// schema, so stores in different schemas never contend.
func lockNamespace(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte("nexus/state/" + schema))
	return int32(h.Sum32())
}

// lockKey is the second key: the project's.
func lockKey(project string) int32 {
	h := fnv.New32a()
	h.Write([]byte(project))
	return int32(h.Sum32())
}

var _ state.Store = (*Store)(nil)
