// Package vault is the secret provider that reads HashiCorp Vault's KV
// secrets engine (v1 and v2), for the daemon's `secrets "vault" "<name>"`
// blocks. It talks to Vault only through github.com/hashicorp/vault/api and
// its AppRole auth package.
//
// # Paths
//
// secret("vault", "kv/heartbeat", "api_key") reads the field api_key of the
// secret heartbeat in the mount kv. The first segment of a path is the
// mount, unless Config.KVVersion is 0: then the provider asks Vault
// (sys/internal/ui/mounts/<path>) for the mount and its KV version, once per
// mount, which also finds mounts like "secret/team/". Without a key the
// field "value" is read, or the only field of a one-field secret. Fields
// that are not strings are rendered as JSON text.
//
// # Authentication
//
// New logs in with a token (checked with lookup-self), a token file, or
// AppRole (role_id, and secret_id or a secret_id file read at every login),
// then renews the token with the API client's LifetimeWatcher in a goroutine
// the Provider owns and Close stops. When the token reaches its max TTL,
// fails to renew, or is refused on a read (Vault answers 403 and
// lookup-self confirms that the token itself is invalid), an AppRole or
// token-file provider logs in again (the read is retried once); a provider
// with a plain token cannot, and its reads fail with secrets.ErrDenied and a
// message saying the token is expired or revoked.
//
// # Errors
//
// A 403 wraps secrets.ErrDenied and a 404 (or a deleted KV v2 version)
// secrets.ErrNotFound; both carry Vault's error text and the path, never a
// value. The API client's *api.ResponseError stays reachable with errors.As.
//
// # Writes
//
// The provider is also a secrets.Writer and secrets.Lister for `nexus
// secrets put|rm|ls`: Put updates one field and keeps the others (a KV v2
// check-and-set write, so a concurrent change fails the write instead of
// being lost), Delete removes a field or the secret's latest version, and
// List walks Vault's LIST answers under a prefix that starts with a mount.
package vault
