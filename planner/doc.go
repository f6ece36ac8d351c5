// Package planner turns a loaded topology and a state document into a Plan:
// the dependency graph of module instances, the diff of each against what the
// state records, the actions that close the gap (create, destroy, update,
// replace, start, stop, restart) and their order in waves.
//
// A Plan is pure, serialisable data. It records the base state's lineage and
// serial and the digest of the config it was made from, so that applying a
// saved plan after the state moved on is refused (ErrStalePlan).
package planner
