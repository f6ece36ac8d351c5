// Package daemoncfg loads the daemon's own configuration (nexusd.hcl): its
// data directory, listeners, state store, secret providers, roles,
// principals and audit log. With no file, Default gives the embedded
// defaults the design lists, so `nexus daemon` runs with no setup at all.
//
// Roles and principals live only here: nothing applied through the API can
// grant a permission.
package daemoncfg
