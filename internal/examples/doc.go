// Package examples holds no code, only tests: they run every example under
// examples/ the way its README says to (validate, plan, and apply where it
// needs no outside service, against real daemons, PostgreSQL and a fake
// Vault), run the CI workflows' scripts against a daemon, walk through the
// README's quickstart as a newcomer would, and check the documentation
// under docs/ against the code (every function, block, attribute and route
// documented; examples that evaluate to what the page says; links that
// resolve). It exists so that the examples and the docs cannot rot.
package examples
