-- schedule-pause.lua: schedulePause and scheduleResume. Pausing takes the schedule out of {p}:schdue;
-- resuming a paused one sets the given nextRunAt (an unpaused schedule is left unchanged).
-- @keys schdue
-- @uses phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] id; ARGV[3] "1" pause | "0" resume; ARGV[4] nextRunAt for a resume ("" none);
-- ARGV[5] now.
-- Returns { wakes, hash fields or false when the schedule does not exist }.
local id = ARGV[2]
local k = ksc(id)
local pa = redis.call('HGET', k, 'pa')
if not pa then return done(false) end
if ARGV[3] == '1' then
  if pa ~= '1' then
    redis.call('HSET', k, 'pa', '1', 'u', ARGV[5])
    redis.call('ZREM', K.schdue, id)
  end
elseif pa == '1' then
  redis.call('HSET', k, 'pa', '0', 'nr', ARGV[4], 'u', ARGV[5])
  if ARGV[4] ~= '' then redis.call('ZADD', K.schdue, ARGV[4], id) end
end
return done(redis.call('HGETALL', k))
