-- schedule-delete.lua: scheduleDelete. Deletes a schedule (the jobs it enqueued stay).
-- @keys schs schdue
-- @uses phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] id.
-- Returns { wakes, "1" deleted | "0" absent }.
local id = ARGV[2]
local n = redis.call('DEL', ksc(id))
redis.call('SREM', K.schs, id)
redis.call('ZREM', K.schdue, id)
return done(n == 1 and '1' or '0')
