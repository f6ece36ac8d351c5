// Package views renders what the CLI shows: plans (human and JSON),
// diagnostics (with source snippets, and in the JSON shape of Terraform's
// validate), apply progress and status. Views render; they never decide.
package views
