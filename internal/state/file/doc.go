// Package file is the default state store: one directory per project under a
// data directory, holding the document as JSON plus a journal of the changes
// applied since it was last written in full.
//
// Layout of <dir>/<project>/:
//
//	state.json          the document as last written in full (atomically)
//	state.json.backup   the document that state.json replaced
//	journal.ndjson      Apply changes since state.json was written, one a line
//	history.ndjson      one line per serial: serial, lineage, time, modules, reason
//	lock                flock'd by the lock holder; holds its LockInfo as JSON
//
// An Apply appends one journal line with one fsync, so persisting a
// transition costs the size of the change, not of the topology; once the
// journal outgrows the document (see Options) an Apply writes the document in
// full instead and empties the journal. A crash mid-append leaves a torn last
// line, which is an unacknowledged write and is ignored. Anything else that
// cannot be read is ErrCorrupt or ErrUnsupportedVersion, and the project is
// then never written again until a human repairs or restores the files.
//
// Writers in any process are serialized by a short flock on the project
// directory; readers take it shared. The user-visible lock (Lock/Unlock) is a
// separate flock on the lock file, held for as long as its holder runs: it
// vanishes with the holding process, so a killed holder needs no cleanup.
package file
