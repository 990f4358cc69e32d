-- queue-rate.lua: queueRateLimit. Sets ({p}:limits field "q/<queue>" = "max window") or lifts a queue's rate
-- limit; the claims already logged are kept. Wakes the queue's workers.
-- @keys limits
-- @uses phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] queue; ARGV[3] "max window", or "" to lift.
-- Returns { wakes, "1" }.
if ARGV[3] == '' then
  if redis.call('HDEL', K.limits, 'q/' .. ARGV[2]) == 1 then WAKE[ARGV[2]] = true end
else
  redis.call('HSET', K.limits, 'q/' .. ARGV[2], ARGV[3])
  WAKE[ARGV[2]] = true
end
return done('1')
