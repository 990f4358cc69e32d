-- stage.lua: jobStage. Moves scheduled and retryable jobs with runAt <= now to available, in every queue
-- (paused ones too), at most `cap` per queue per call (the caller repeats while `more`).
-- @keys queues running nrun events evon s:scheduled s:retryable s:cancelled s:discarded
-- @uses claim
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] now; ARGV[3] cap.
-- Returns { wakes, { staged count, "1" if a queue had more due jobs than cap else "0" } }.
local now = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local more = '0'
local staged = 0
for _, q in ipairs(redis.call('SMEMBERS', K.queues)) do
  local read, n = stageQueue(q, now, cap)
  staged = staged + n
  if read >= cap then more = '1' end
end
return done({ ns(staged), more })
