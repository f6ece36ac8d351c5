// Package statetest is the conformance suite every state.Store must pass,
// plus the fixtures and benchmark bodies the store packages share.
//
// A store package runs it from a test with an open function that returns a
// new Store on the backend under test:
//
//	func TestStore_conformance(t *testing.T) {
//		dir := t.TempDir()
//		statetest.Run(t, func(t *testing.T) state.Store {
//			s, err := file.New(dir)
//			...
//			return s
//		})
//	}
//
// Every call to open within one Run must reach the same backend (the same
// directory, database schema or key prefix): two Stores from open then see
// each other's documents and locks, as two processes would. The suite gives
// every subtest its own project names, so subtests run in parallel.
package statetest
