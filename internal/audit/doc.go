// Package audit writes and checks nexus's audit log: one JSON record per
// line, append-only, fsynced before Append returns, each record chained to
// the one before it by SHA-256 so that editing, deleting or inserting a line
// is found by Verify (`nexus audit verify`).
//
// The daemon records every plan, apply, transition, denial, secret read
// (path only), secret write, state edit and its own start and stop, with
// principal, time and outcome. Sensitive values never enter the log as
// such: Log.Sensitive turns them into "hmac-sha256:<hex>" with a key only the
// daemon holds, which still lets an auditor see that two records name the
// same value.
//
// # The chain
//
// A line is the canonical JSON of a Record (encoding/json of its fields in
// declaration order, empty optional fields left out, Time in RFC 3339 UTC,
// Details keys sorted) followed by "\n". Two hashes tie the lines together:
//
//   - Hash is the hex SHA-256 of the line's bytes without the hash member:
//     the canonical JSON of every other field, Seq, Time, Type, Principal,
//     RequestID, Outcome, Module, Details and Prev. The line is exactly those
//     bytes with `,"hash":"<hex>"` inserted before the closing brace, so a
//     verifier in any language strips that member and hashes what is left.
//   - Prev is the hex SHA-256 of the previous line's bytes (without its
//     newline); the first record's Prev is 64 zeros.
//
// Seq starts at 1 and increments by 1 per record. Verify checks each line in
// turn: that it is a whole line, valid JSON in canonical form, that Hash
// matches the content (an edited field), that Seq follows the previous
// record's (a deleted or inserted line) and that Prev is the previous line's
// hash (an inserted or rewritten line). It reports the first bad line and
// what is wrong with it, such as "line 7: record edited (hash mismatch)".
//
// # What the chain cannot show
//
// The hashes are not keyed: someone who can write the file can rewrite it
// from some line onwards with a fresh, valid chain, and deleting the last
// lines leaves a valid but shorter log. Neither can be told from the file
// alone. Log.Head returns the seq and hash of the last record written; the
// daemon publishes it (status, metrics) and ships it off the host, and
// comparing a file's Verify head with a published head detects both. Ship
// the log itself off the host (a log collector) for stronger guarantees.
//
// # Durability
//
// Append returns once its line is written and fsynced. Concurrent Appends
// share one write and one fsync (group commit by the log's writer
// goroutine), which is what makes thousands of records per second possible
// on an ordinary disk. A failed write or fsync leaves the Log unusable: the
// file may hold a partial line, and retrying an fsync after a failure can
// report success for data the kernel dropped. Open refuses a log whose last
// line is damaged and names the line; nothing in this package ever
// truncates or rewrites a log.
package audit
