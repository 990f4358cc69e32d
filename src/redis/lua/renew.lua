-- renew.lua: jobLeaseRenew. Extends the leases still held (running under the token, expired or not) to
-- now + leaseMs.
-- @keys running
-- @uses phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] now; ARGV[3] leaseMs; ARGV[4...] id, token pairs.
-- Returns { wakes, { lost ids, cancel-requested ids } }.
local le = tonumber(ARGV[2]) + tonumber(ARGV[3])
local leText = ns(le)
local lost, cancelRequested = {}, {}
for i = 4, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local v = redis.call('HMGET', kj(id), 's', 'lt', 'cr')
  if v[1] == 'running' and v[2] == token then
    redis.call('HSET', kj(id), 'le', leText)
    za(K.running, le, enc(id))
    if v[3] == '1' then cancelRequested[#cancelRequested + 1] = id end
  else
    lost[#lost + 1] = id
  end
end
return done({ lost, cancelRequested })
