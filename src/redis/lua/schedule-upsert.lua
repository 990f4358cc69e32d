-- schedule-upsert.lua: scheduleUpsert. Inserts a schedule or replaces its definition, keeping createdAt,
-- lastTickAt, paused and (with an unchanged spec) nextRunAt. A schedule is the hash {p}:sc:<id>; {p}:schs
-- holds every id and {p}:schdue the unpaused ones by nextRunAt.
-- @keys schs schdue
-- @uses phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] id; ARGV[3] jobName; ARGV[4] queue; ARGV[5] data JSON; ARGV[6] options JSON;
-- ARGV[7] spec (canonical JSON); ARGV[8] catchUp JSON; ARGV[9] nextRunAt ("" none); ARGV[10] now.
-- Returns { wakes, { created ("1"/"0"), hash fields } }.
local id = ARGV[2]
local k = ksc(id)
local old = redis.call('HMGET', k, 'sp', 'pa', 'nr', 'lt', 'c')
local created = not old[1]
local nr = ARGV[9]
if not created and old[1] == ARGV[7] then nr = old[3] or '' end
local pa = old[2] or '0'
redis.call('HSET', k, 'jn', ARGV[3], 'q', ARGV[4], 'd', ARGV[5], 'o', ARGV[6], 'sp', ARGV[7], 'cu', ARGV[8],
  'pa', pa, 'nr', nr, 'lt', old[4] or '', 'c', old[5] or ARGV[10], 'u', ARGV[10])
redis.call('SADD', K.schs, id)
if pa == '0' and nr ~= '' then redis.call('ZADD', K.schdue, nr, id) else redis.call('ZREM', K.schdue, id) end
return done({ created and '1' or '0', redis.call('HGETALL', k) })
