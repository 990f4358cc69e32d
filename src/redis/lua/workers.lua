-- workers.lua: workerBeat, workerRemove and workerList. {p}:workers holds each worker's record (JSON) by id,
-- {p}:wexp each id by the time its latest beat expires (judged against the caller's now). Records expired
-- for over an hour are swept by beats.
-- @keys workers wexp
-- @uses
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] "beat" (ARGV[3] id, ARGV[4] record JSON, ARGV[5] expiresAt, ARGV[6] now)
--   | "remove" (ARGV[3] id) | "list" (ARGV[3] now).
-- Returns beat/remove: "1"; list: the records (JSON) of live workers.
if ARGV[2] == 'beat' then
  redis.call('HSET', K.workers, ARGV[3], ARGV[4])
  redis.call('ZADD', K.wexp, ARGV[5], ARGV[3])
  local old = redis.call('ZRANGEBYSCORE', K.wexp, '-inf', '(' .. ns(tonumber(ARGV[6]) - 3600000), 'LIMIT', 0, 16)
  for _, id in ipairs(old) do
    redis.call('HDEL', K.workers, id)
    redis.call('ZREM', K.wexp, id)
  end
  return '1'
elseif ARGV[2] == 'remove' then
  redis.call('HDEL', K.workers, ARGV[3])
  redis.call('ZREM', K.wexp, ARGV[3])
  return '1'
end
local ids = redis.call('ZRANGEBYSCORE', K.wexp, '(' .. ARGV[3], '+inf')
if #ids == 0 then return {} end
local out = {}
for _, json in ipairs(redis.call('HMGET', K.workers, unpack(ids))) do
  if json then out[#out + 1] = json end
end
return out
