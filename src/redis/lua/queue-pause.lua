-- queue-pause.lua: queuePause and queueResume. Claims skip a paused queue ({p}:paused); a resume wakes the
-- queue's workers.
-- @keys paused
-- @uses phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] queue; ARGV[3] "1" pause | "0" resume.
-- Returns { wakes, "1" }.
if ARGV[3] == '1' then
  redis.call('SADD', K.paused, ARGV[2])
elseif redis.call('SREM', K.paused, ARGV[2]) == 1 then
  WAKE[ARGV[2]] = true
end
return done('1')
