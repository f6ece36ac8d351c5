// Package api holds the daemon API's wire types: the JSON requests and
// answers of /v1/..., shared by the daemon (internal/daemon) and the CLI's
// client (internal/client) so the two cannot drift apart.
package api
