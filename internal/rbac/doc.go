// Package rbac decides who may do what in nexus: it maps bearer tokens to
// principals and checks a principal's permissions against the roles the
// daemon config gives it.
//
// Roles and principals live only in the daemon config (the `role` and
// `principal` blocks); the daemon decodes them, builds one immutable Policy
// with NewPolicy and consults it for every request. Nothing applied through
// the API can change a Policy, so nothing applied can grant a permission.
//
// # Permissions and patterns
//
// A permission is a dotted name: "plan", "apply", "module.load",
// "heartbeat.send", "state.read". A role lists patterns, each one of
//
//   - an exact permission name, "module.load";
//   - "*", every permission;
//   - a prefix wildcard, "module.*": every permission under "module."
//     ("module.load", "module.x.y"), but not "module" itself.
//
// Each dot-separated segment holds letters, digits, "_" and "-"; a wildcard
// is only ever a whole last segment. Matching is exact and case-sensitive.
//
// # Deny by default
//
// A principal the policy does not know, or one without roles, is allowed
// nothing. Authorize checks every permission a request needs before the
// request does anything, and a denial names each missing permission of each
// module, so one attempt tells the operator everything to grant.
//
// # Tokens
//
// Principals that use the TCP API hold a bearer token; the config keeps only
// its SHA-256 (HashToken, what `nexus token hash` prints). Authenticate
// hashes the presented token and compares it in constant time against every
// principal's hash, without stopping at a match, so response timing says
// nothing about which principal, if any, matched.
package rbac
