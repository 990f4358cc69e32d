-- stats.lua: statsList. Outcome counts per queue and minute in [from, to), from {p}:statm (minute/queue by
-- minute) and {p}:stats (counters "<minute>/<queue>/<c|r|d|x|s>": completed, retried, discarded,
-- cancelled, rescued).
-- @keys stats statm
-- @uses
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] from; ARGV[3] to; ARGV[4] queue ("" = all).
-- Returns { { minute/queue, completed, retried, discarded, cancelled, rescued }, ... }.
local out = {}
for _, mq in ipairs(redis.call('ZRANGEBYSCORE', K.statm, ARGV[2], '(' .. ARGV[3])) do
  local q = string.match(mq, '^[^/]*/(.*)$')
  if ARGV[4] == '' or q == ARGV[4] then
    local v = redis.call('HMGET', K.stats, mq .. '/c', mq .. '/r', mq .. '/d', mq .. '/x', mq .. '/s')
    out[#out + 1] = { mq, v[1] or '0', v[2] or '0', v[3] or '0', v[4] or '0', v[5] or '0' }
  end
end
return out
