-- schedule-read.lua: scheduleGet, scheduleList and scheduleDue.
-- @keys schs schdue
-- @uses
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] "get" (ARGV[3] id) | "list" | "due" (ARGV[3] now, ARGV[4] limit).
-- Returns { { id, hash fields }, ... } (due: earliest nextRunAt first, then id).
local ids
if ARGV[2] == 'get' then
  ids = { ARGV[3] }
elseif ARGV[2] == 'list' then
  ids = redis.call('SMEMBERS', K.schs)
else
  local limit = tonumber(ARGV[4])
  if limit <= 0 then return {} end
  ids = redis.call('ZRANGEBYSCORE', K.schdue, '-inf', ARGV[3], 'LIMIT', 0, limit)
end
local out = {}
for _, id in ipairs(ids) do
  local flat = redis.call('HGETALL', ksc(id))
  if #flat > 0 then out[#out + 1] = { id, flat } end
end
return out
