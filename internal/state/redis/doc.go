// Package redis is the Redis state store (go-redis/v9). Per project, under
// a key prefix (default "nexus"), with the project as hash tag so that all
// of a project's keys live in one cluster slot:
//
//	<prefix>:{<project>}:meta      hash: lineage, serial, version, digest
//	<prefix>:{<project>}:modules   hash: address → module record JSON
//	<prefix>:{<project>}:history   list: newest first, capped
//	<prefix>:{<project>}:lock      string: holder's LockInfo JSON, with a TTL
//
// Put and Apply are Lua scripts that check the serial and write everything
// in one atomic round trip. The lock is SET NX PX with a TTL, renewed by a
// goroutine while held: a killed holder's lock expires with its TTL.
//
// Redis must not evict these keys (maxmemory-policy noeviction), and should
// persist them (appendonly yes, appendfsync always for no loss at all).
package redis
