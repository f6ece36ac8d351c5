// Package cli is nexus's command line: cobra commands that parse flags, call
// config, planner, the daemon client and views, and map outcomes to exit
// codes (0 success, 1 error, 2 changes present with --detailed-exitcode).
package cli
