-- next-run.lua: jobNextRunAt. The earliest runAt of scheduled or retryable jobs in `queues` and, when `now`
-- is given, the earliest time after `now` at which a full rate limit that applies to them frees.
-- @keys rlf
-- @uses
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] now ("" when not given); ARGV[3] nQueues, queues..., nNames, names...
-- Returns the time as text, or false.
local nq = tonumber(ARGV[3])
local queues, names = {}, {}
for i = 1, nq do queues[ARGV[3 + i]] = true end
local at = 4 + nq
local nn = tonumber(ARGV[at])
for i = 1, nn do names[ARGV[at + i]] = true end
local next = nil
for q in pairs(queues) do
  local first = redis.call('ZRANGE', kw(q), 0, 0, 'WITHSCORES')
  if #first > 0 then
    local t = tonumber(first[2])
    if next == nil or t < next then next = t end
  end
end
if ARGV[2] ~= '' then
  local items = redis.call('ZRANGEBYSCORE', K.rlf, '(' .. ARGV[2], '+inf', 'WITHSCORES')
  for i = 1, #items, 2 do
    local key, t = items[i], tonumber(items[i + 1])
    if next ~= nil and t >= next then break end
    local kind, rest = string.match(key, '^(%a)/(.*)$')
    local applies = false
    if kind == 't' then
      applies = names[rest] == true
    elseif kind == 'q' then
      applies = queues[rest] == true
    elseif kind == 'g' then
      applies = queues[string.match(rest, '^([^/]*)/')] == true
    end
    if applies then next = t; break end
  end
end
if next == nil then return false end
return ns(next)
