// Package secrets reads the secrets that module configs reference with
// secret(provider, path[, key]), and keeps their values out of everything
// else nexus writes.
//
// A Provider is one secrets backend (sub-packages file, env and vault). The
// daemon builds one Set from its `secrets "<type>" "<name>"` blocks; the Set
// maps each block's name to its provider and is the runtime's
// SecretResolver: Resolve turns a modules.SecretRef into a value when a
// module starts or reconfigures, and Check tells the planner that a secret
// exists without handing its value to anyone.
//
// # Keeping values secret
//
// Values exist only in memory, in the resolved config of a running module.
// Errors and log records name the provider, the path and the key, never the
// value: providers write their own error texts rather than wrapping parser
// errors that quote their input. The state keeps a keyed fingerprint of each
// value (Fingerprinter, HMAC-SHA256 with a key only the daemon holds) so that
// a rotation is noticed without the value, or an unkeyed hash of it that
// could be brute-forced, ever being stored.
//
// # Capabilities
//
// Provider is the one required method. A provider may also implement Writer
// (`nexus secrets put|rm`), Lister (`nexus secrets ls`) and Checker (a
// plan-time existence check cheaper than a read); the Set finds them by type
// assertion and answers ErrUnsupported when one is missing.
//
// Failures wrap ErrNotFound, ErrDenied, ErrInvalidPath, ErrUnsupported or
// ErrUnknownProvider, for callers to test with errors.Is.
package secrets
