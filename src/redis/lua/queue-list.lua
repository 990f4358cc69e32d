-- queue-list.lua: queueList. Every queue that holds jobs, is paused, has a rate limit or has a registered
-- job type, with its counts.
-- @keys queues paused limits types
-- @uses
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin.
-- Returns { { name, paused ("1"/"0"), rate limit ("max window" or false), state/count pairs }, ... }.
local names = {}
for _, q in ipairs(redis.call('SMEMBERS', K.queues)) do names[q] = true end
local paused = {}
for _, q in ipairs(redis.call('SMEMBERS', K.paused)) do names[q] = true; paused[q] = true end
local rates = {}
local limits = redis.call('HGETALL', K.limits)
for i = 1, #limits, 2 do
  local q = string.match(limits[i], '^q/(.*)$')
  if q then names[q] = true; rates[q] = limits[i + 1] end
end
local typed = {}
for _, v in ipairs(redis.call('HVALS', K.types)) do
  local ok, t = pcall(cjson.decode, v)
  if ok and type(t) == 'table' and type(t.queue) == 'string' then names[t.queue] = true; typed[t.queue] = true end
end
local out = {}
for q in pairs(names) do
  local counts = redis.call('HGETALL', kc(q))
  local any = false
  for i = 2, #counts, 2 do if tonumber(counts[i]) > 0 then any = true end end
  if any or paused[q] or rates[q] or typed[q] then
    out[#out + 1] = { q, paused[q] and '1' or '0', rates[q] or false, counts }
  end
end
return out
