package vault

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/nexus-run/nexus/internal/secrets"
)

// vaultError is a failed call to Vault with a one-line message. It wraps a
// secrets sentinel (when one applies) and the API client's error, so callers
// can use errors.Is(err, secrets.ErrDenied) and errors.As(err,
// **api.ResponseError) alike.
type vaultError struct {
	kind  error // secrets.ErrDenied, secrets.ErrNotFound… or nil
	msg   string
	cause error
}

func (e *vaultError) Error() string { return e.msg }

func (e *vaultError) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// maxErrorText bounds how much of Vault's own error text a message quotes:
// enough for Vault's messages, not for an HTML page from a proxy.
const maxErrorText = 300

// classify turns an API client error for doing op ("read kv/app") into a
// vaultError. Vault's error texts are quoted; they describe the request,
// never a secret value.
func classify(op string, err error) error {
	var re *api.ResponseError
	if !errors.As(err, &re) {
		if errors.Is(err, api.ErrSecretNotFound) {
			return &vaultError{kind: secrets.ErrNotFound, msg: fmt.Sprintf("vault: %s: %s", op, secrets.ErrNotFound), cause: err}
		}
		return &vaultError{msg: fmt.Sprintf("vault: %s: %v", op, err), cause: err}
	}
	text := "no error text"
	if re.RawError {
		text = "an answer that is not Vault's JSON (a proxy in between?)"
	} else if len(re.Errors) > 0 {
		text = strings.Join(re.Errors, "; ")
	}
	if len(text) > maxErrorText {
		text = text[:maxErrorText] + "…"
	}
	e := &vaultError{msg: fmt.Sprintf("vault: %s: HTTP %d: %s", op, re.StatusCode, text), cause: err}
	switch re.StatusCode {
	case http.StatusForbidden:
		e.kind = secrets.ErrDenied
	case http.StatusNotFound:
		e.kind = secrets.ErrNotFound
	case http.StatusBadRequest:
		if strings.HasPrefix(op, "log in") {
			e.kind = secrets.ErrDenied
		}
	}
	return e
}

// withHint returns e with hint appended to its message.
func withHint(err error, hint string) error {
	var e *vaultError
	if !errors.As(err, &e) {
		return fmt.Errorf("%w; %s", err, hint)
	}
	return &vaultError{kind: e.kind, msg: e.msg + "; " + hint, cause: e.cause}
}
