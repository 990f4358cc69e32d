-- prune.lua: jobPrune. Deletes final jobs of `states` that finished before `finishedBefore`, or that are
-- beyond the newest `keepLast` of their state (store-wide, or per queue), oldest finish first (then id), at
-- most `limit`. Reads the per-queue finish indexes {p}:f:<queue>/<state> (scored by finishedAt).
-- @keys queues running nrun s:scheduled s:retryable s:cancelled s:discarded
-- @uses transitions phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] finishedBefore ("" none); ARGV[3] keepLast ("" none); ARGV[4] perQueue (1/0);
-- ARGV[5] limit; ARGV[6...] states.
-- Returns { wakes, deleted count }.
local limit = tonumber(ARGV[5])
if limit <= 0 then return done('0') end
local before = ARGV[2]
local keepLast = tonumber(ARGV[3])
local perQueue = ARGV[4] == '1'
local queues = redis.call('SMEMBERS', K.queues)
local seen, list = {}, {}
local function add(items)
  for i = 1, #items, 2 do
    local id = dec(items[i])
    if not seen[id] then
      seen[id] = true
      list[#list + 1] = { id = id, idn = tonumber(id), f = tonumber(items[i + 1]) }
    end
  end
end
local function older(a, b)
  if a.f ~= b.f then return a.f < b.f end
  return a.idn < b.idn
end
for i = 6, #ARGV do
  local s = ARGV[i]
  if before ~= '' then
    for _, q in ipairs(queues) do
      add(redis.call('ZRANGEBYSCORE', kf(q, s), '-inf', '(' .. before, 'WITHSCORES', 'LIMIT', 0, limit))
    end
  end
  if keepLast then
    if perQueue then
      for _, q in ipairs(queues) do
        local n = redis.call('ZCARD', kf(q, s))
        if n > keepLast then add(redis.call('ZRANGE', kf(q, s), 0, math.min(n - keepLast, limit) - 1, 'WITHSCORES')) end
      end
    else
      local total = 0
      for _, q in ipairs(queues) do total = total + redis.call('ZCARD', kf(q, s)) end
      local excess = math.min(total - keepLast, limit)
      if excess > 0 then
        local merged = {}
        for _, q in ipairs(queues) do
          local items = redis.call('ZRANGE', kf(q, s), 0, excess - 1, 'WITHSCORES')
          for j = 1, #items, 2 do merged[#merged + 1] = { m = items[j], f = tonumber(items[j + 1]), idn = tonumber(dec(items[j])) } end
        end
        table.sort(merged, older)
        local flat = {}
        for j = 1, math.min(excess, #merged) do flat[#flat + 1] = merged[j].m; flat[#flat + 1] = merged[j].f end
        add(flat)
      end
    end
  end
end
table.sort(list, older)
local deleted = 0
for i = 1, math.min(limit, #list) do
  local id = list[i].id
  local J = jmeta(id)
  if J and isFinal(J.s) then
    removeJob(id, J)
    deleted = deleted + 1
  end
end
return done(ns(deleted))
