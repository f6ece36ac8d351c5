package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// readRetries is how many times a read is retried after a lost
// connection: the pool hands out each dead idle connection once, and a
// read is safe to repeat. Writes are not retried here: their error goes to
// the caller, whose retry (same prev) is recognised if it did commit.
const readRetries = 2

// read runs fn, again when it failed on a lost connection.
func read(ctx context.Context, fn func() error) error {
	var err error
	for range readRetries + 1 {
		if err = fn(); err == nil || !connLost(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// connLost reports whether err says the connection (not the statement)
// failed: terminated by the server, reset, or closed.
func connLost(err error) bool {
	if pgconn.SafeToRetry(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}
