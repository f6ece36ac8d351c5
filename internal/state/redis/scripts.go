package redis

import goredis "github.com/redis/go-redis/v9"

// Every script returns {status, detail}: "ok", "done" (this very write was
// applied before: a retry after a lost reply), "conflict" (detail: the
// stored serial), "lineage" (the stored lineage), "version" (the stored
// version) or "orphan" (module records with no meta: refused).

// metaCheck is the check-and-set prologue shared by the write scripts.
// KEYS: meta, modules, history. ARGV[1] prev, ARGV[2] next serial,
// ARGV[4] format version, ARGV[5] digest of this write.
const metaCheck = `
local meta = redis.call('HMGET', KEYS[1], 'serial', 'lineage', 'version', 'digest')
local serial = meta[1] or '0'
if meta[1] and meta[3] ~= ARGV[4] then return {'version', meta[3] or 'none'} end
if not meta[1] and redis.call('EXISTS', KEYS[2]) == 1 then return {'orphan', ''} end
if serial == ARGV[2] and meta[4] == ARGV[5] then return {'done', ''} end
`

// record writes meta and a history entry. ARGV[6] is the entry's JSON
// members after lineage ("time":…,"reason":…), ARGV[7] the history cap.
const record = `
redis.call('HSET', KEYS[1], 'serial', ARGV[2], 'lineage', lineage, 'version', ARGV[4], 'digest', ARGV[5])
local entry = '{"serial":' .. ARGV[2] .. ',"lineage":' .. cjson.encode(lineage) .. ',' .. ARGV[6] ..
	',"modules":' .. redis.call('HLEN', KEYS[2]) .. '}'
redis.call('LPUSH', KEYS[3], entry)
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[7]) - 1)
return {'ok', ''}
`

// chunked calls cmd on key with ARGV[from..to] in chunks small enough for
// unpack (Lua's stack); n is even so hash pairs stay whole.
const chunked = `
local function chunked(cmd, key, from, to)
	local i = from
	while i <= to do
		local j = math.min(i + 999, to)
		redis.call(cmd, key, unpack(ARGV, i, j))
		i = j + 1
	end
end
`

// putScript replaces the document. ARGV[3] is its lineage; ARGV[8..] are
// address, record pairs.
var putScript = goredis.NewScript(chunked + metaCheck + `
if meta[2] and meta[2] ~= ARGV[3] then return {'lineage', meta[2]} end
if serial ~= ARGV[1] then return {'conflict', serial} end
local lineage = ARGV[3]
redis.call('DEL', KEYS[2])
chunked('HSET', KEYS[2], 8, #ARGV)
` + record)

// applyScript writes a change. ARGV[3] is the lineage of a document it
// creates (prev 0, none stored); ARGV[8] the number n of set records;
// ARGV[9..8+2n] address, record pairs; the rest addresses to delete.
var applyScript = goredis.NewScript(chunked + metaCheck + `
if serial ~= ARGV[1] then return {'conflict', serial} end
local lineage = meta[2] or ARGV[3]
local last = 8 + 2 * tonumber(ARGV[8])
chunked('HSET', KEYS[2], 9, last)
chunked('HDEL', KEYS[2], last + 1, #ARGV)
` + record)

// renewScript extends the lock's TTL if we still own it: KEYS lock,
// ARGV[1] our value, ARGV[2] ttl in ms. Returns 1, or 0 when lost.
var renewScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// unlockScript deletes the lock if we still own it: KEYS lock, ARGV[1] our
// value. Returns 1, or 0 when it was not ours (any more).
var unlockScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)
