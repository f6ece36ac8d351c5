// Package state holds the persisted state document of a project (what nexus
// believes is running) and the Store interface its backends implement: file
// (the default), PostgreSQL and Redis, each in a sub-package.
//
// A document has a lineage fixed at creation and a serial bumped by every
// write; writes are check-and-set on the serial so that two writers never
// silently overwrite each other. Secret values never enter a document: specs
// carry secret placeholders and the state keeps only keyed fingerprints.
package state
