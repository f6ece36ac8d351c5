// Package vaulttest is an in-process fake Vault server for tests: an
// httptest server that answers the part of Vault's HTTP API the vault
// secret provider uses, with the status codes and JSON shapes Vault's API
// documentation gives, so that the provider is tested through the real
// github.com/hashicorp/vault/api client.
//
// It serves:
//
//   - POST|PUT /v1/auth/<mount>/login: AppRole login (AddAppRole);
//   - GET /v1/auth/token/lookup-self and POST|PUT /v1/auth/token/renew-self;
//   - GET /v1/sys/internal/ui/mounts/<path>: the mount of a path, its type
//     and options.version (MountKV);
//   - KV v2 under a v2 mount: GET, POST|PUT and DELETE <mount>/data/<path>,
//     LIST <mount>/metadata/<path>;
//   - KV v1 under a v1 mount: GET, POST|PUT, DELETE and LIST <mount>/<path>.
//
// Every request needs a valid X-Vault-Token, except a login: a missing,
// unknown, revoked or expired token gets 403 {"errors":["permission
// denied"]}, as does a path outside the token's Allow list. A missing
// secret or route gets 404. X-Vault-Namespace selects the namespace that
// tokens, roles and mounts belong to ("" is the root namespace; a token is
// valid in its namespace and those below it).
//
// Tokens have real TTLs on the wall clock, so that renewal (renew-self
// extends a renewable token up to its max TTL) and expiry can be tested,
// and Revoke invalidates a token at once. The fake is not Vault: policies
// are path-prefix allow lists, there are no leases on KV reads, no
// response wrapping and no replication headers.
package vaulttest
