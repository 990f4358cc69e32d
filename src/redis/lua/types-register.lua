-- types-register.lua: jobTypeRegister. Records job types (a later registration replaces a name's queue,
-- defaults and seenAt) and the limits claims enforce from their latest registration: {p}:limits fields
-- "m/<name>" (maxConcurrency), "r/<name>" (type rate limit), "g/<name>" (group rate limit).
-- @keys types limits
-- @uses phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2...] per type: name, record JSON, maxConcurrency ("" none), rate limit ("max window"
-- or ""), group rate limit ("max window" or "").
-- Returns { wakes, "1" }.
for i = 2, #ARGV, 5 do
  local name = ARGV[i]
  redis.call('HSET', K.types, name, ARGV[i + 1])
  local fields = { { 'm/', ARGV[i + 2] }, { 'r/', ARGV[i + 3] }, { 'g/', ARGV[i + 4] } }
  for _, f in ipairs(fields) do
    if f[2] == '' then redis.call('HDEL', K.limits, f[1] .. name) else redis.call('HSET', K.limits, f[1] .. name, f[2]) end
  end
end
return done('1')
