// Package kindtest helps test module kinds the way the runtime drives them:
// a config completed from the kind's manifest, an Instance with a data dir
// and a logger that writes to the test log, transitions with generous
// deadlines, and polling instead of sleeping. Only tests import it.
package kindtest
