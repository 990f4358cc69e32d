-- list.lua: jobList. Jobs newest first (descending id) below the cursor, filtered by queue, state, name,
-- dedupe key and group. Walks the smallest id index that a filter gives ({p}:qi:<queue>, {p}:k:<key>,
-- {p}:gi:<group>, {p}:s:<state> for scheduled, retryable, cancelled and discarded; running jobs come from the
-- lease set) and checks the other filters on each job; without such an index it merges the queues'
-- indexes. One call reads at most SCAN_MAX index entries: a sparse filter may then return a short page,
-- with a cursor to go on from.
-- @keys queues running s:scheduled s:retryable s:cancelled s:discarded
-- @uses jobs
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] queue; ARGV[3] state; ARGV[4] name; ARGV[5] key; ARGV[6] group ("" = any);
-- ARGV[7] limit; ARGV[8] cursor ("" = from the newest).
-- Returns { records ({ id, hash fields, logs } each), next cursor or false }.
local queue, state, name, key, group = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local limit = tonumber(ARGV[7])
local cursor = ARGV[8]
local SCAN_MAX = 10000
local BATCH = 256
local maxNum = math.huge
if cursor ~= '' then
  maxNum = tonumber(cursor)
  if maxNum == nil then return { {}, false } end
end
local KNOWN = { scheduled = true, available = true, running = true, retryable = true, completed = true,
  cancelled = true, discarded = true }
if state ~= '' and not KNOWN[state] then return { {}, false } end
local filtered = queue ~= '' or state ~= '' or name ~= '' or key ~= '' or group ~= ''

local function matches(id)
  if not filtered then return true end
  local v = redis.call('HMGET', kj(id), 'q', 's', 'n', 'k', 'g')
  if not v[1] then return false end
  return (queue == '' or v[1] == queue) and (state == '' or v[2] == state) and (name == '' or v[3] == name)
    and (key == '' or v[4] == key) and (group == '' or v[5] == group)
end

-- The ids of `index` below `below` (exclusive), newest first, at most `n`.
local function below(index, from, n)
  local max = '+inf'
  if from < math.huge then max = '(' .. ns(from) end
  return redis.call('ZREVRANGEBYSCORE', index, max, '-inf', 'LIMIT', 0, n)
end

local ids = {}
local nextCursor = false
local scanned = 0
-- Offers one id in descending order; returns false once the page is complete.
local function offer(id)
  scanned = scanned + 1
  if matches(id) then
    if #ids == limit then nextCursor = ids[#ids]; return false end
    ids[#ids + 1] = id
  end
  if scanned >= SCAN_MAX then nextCursor = id; return false end
  return true
end

local indexes = {}
if queue ~= '' then indexes[#indexes + 1] = kqi(queue) end
if key ~= '' then indexes[#indexes + 1] = kk(key) end
if group ~= '' then indexes[#indexes + 1] = kgi(group) end
if S[state] then indexes[#indexes + 1] = S[state] end
local best, bestSize = nil, math.huge
for _, idx in ipairs(indexes) do
  local n = redis.call('ZCARD', idx)
  if n < bestSize then best, bestSize = idx, n end
end
if state == 'running' and (best == nil or redis.call('ZCARD', K.running) < bestSize) then
  -- Running jobs are bounded by the workers' concurrency: read them all and order them here.
  local running = {}
  for _, m in ipairs(redis.call('ZRANGE', K.running, 0, -1)) do
    local n = tonumber(dec(m))
    if n < maxNum then running[#running + 1] = n end
  end
  table.sort(running, function(a, b) return a > b end)
  for _, n in ipairs(running) do
    if not offer(ns(n)) then break end
  end
elseif best ~= nil then
  local from = maxNum
  local going = true
  while going do
    local batch = below(best, from, BATCH)
    if #batch == 0 then break end
    for _, id in ipairs(batch) do
      if not offer(id) then going = false; break end
    end
    from = tonumber(batch[#batch])
  end
else
  -- Every job is in its queue's index: merge the queues' indexes, newest first.
  local queues = redis.call('SMEMBERS', K.queues)
  local from = maxNum
  local going = true
  while going do
    local all = {}
    for _, q in ipairs(queues) do
      for _, id in ipairs(below(kqi(q), from, BATCH)) do all[#all + 1] = tonumber(id) end
    end
    if #all == 0 then break end
    table.sort(all, function(a, b) return a > b end)
    -- Only the first BATCH are certainly next: another queue may hold ids between the later ones.
    local n = math.min(BATCH, #all)
    for i = 1, n do
      if not offer(ns(all[i])) then going = false; break end
    end
    from = all[n]
  end
end
local out = {}
for _, id in ipairs(ids) do out[#out + 1] = record(id, true) end
return { out, nextCursor }
