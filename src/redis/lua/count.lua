-- count.lua: jobCount. Job counts per state of one queue ({p}:c:<queue>), or summed over every queue.
-- @keys queues
-- @uses
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] queue ("" = all).
-- Returns state, count pairs.
local total = {}
local function add(q)
  local flat = redis.call('HGETALL', kc(q))
  for i = 1, #flat, 2 do total[flat[i]] = (total[flat[i]] or 0) + tonumber(flat[i + 1]) end
end
if ARGV[2] ~= '' then
  add(ARGV[2])
else
  for _, q in ipairs(redis.call('SMEMBERS', K.queues)) do add(q) end
end
local out = {}
for s, n in pairs(total) do out[#out + 1] = s; out[#out + 1] = ns(n) end
return out
