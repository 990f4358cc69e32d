-- schedule-fire.lua: scheduleFire. Compare-and-set on nextRunAt: only if the schedule exists, is unpaused and
-- its nextRunAt equals `expect`, inserts the jobs of the ticks later than lastTickAt (as insert.lua does),
-- moves lastTickAt to the latest of them and nextRunAt to the given one. A fire re-sent after a reconnect
-- fails the compare (the first one moved nextRunAt), so nothing is inserted twice.
-- @keys id queues running nrun events evon schdue s:scheduled s:retryable s:cancelled s:discarded
-- @uses insert
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] id; ARGV[3] expect; ARGV[4] nextRunAt ("" none); ARGV[5] tick count n;
-- ARGV[6 .. 5 + n] the ticks' times, ascending; then the insert block of their jobs, one per tick, in order
-- (see readInserts in lib.lua).
-- Returns { wakes, { fired ("1"/"0"), insert results of the ticks later than lastTickAt (see insertJobs),
--   the positions (0-based) of those ticks } }.
local id = ARGV[2]
local k = ksc(id)
local v = redis.call('HMGET', k, 'pa', 'nr', 'lt')
if not v[1] or v[1] == '1' or tonumber(v[2] or '') ~= tonumber(ARGV[3]) then return done({ '0', {} }) end
local last = tonumber(v[3] or '')
local ticks = tonumber(ARGV[5])
local shapes, count, jobsAt = readInserts(ARGV, 6 + ticks)
local fresh = {}
local freshTicks = {}
local n = 0
local newest = last
for t = 0, ticks - 1 do
  local tickAt = tonumber(ARGV[6 + t])
  if last == nil or tickAt > last then
    local o = jobsAt + t * JOB_FIELDS
    for f = 0, JOB_FIELDS - 1 do fresh[#fresh + 1] = ARGV[o + f] end
    n = n + 1
    freshTicks[n] = ns(t)
    if newest == nil or tickAt > newest then newest = tickAt end
  end
end
local out = insertJobs(shapes, fresh, 1, n)
local lt = ''
if newest ~= nil then lt = ns(newest) end
redis.call('HSET', k, 'nr', ARGV[4], 'lt', lt)
if ARGV[4] ~= '' then redis.call('ZADD', K.schdue, ARGV[4], id) else redis.call('ZREM', K.schdue, id) end
return done({ '1', out, freshTicks })
