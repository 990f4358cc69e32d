-- retry.lua: jobRetry. A scheduled, retryable or final job becomes available at now (finishedAt and result
-- cleared; maxAttempts raised to attempt + 1 when exhausted); an available job is returned unchanged.
-- @keys running nrun s:scheduled s:retryable s:cancelled s:discarded
-- @uses transitions phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] id; ARGV[3] now.
-- Returns { wakes, { "ok", record } | { "notfound" } | { "state", current state } }.
local id = ARGV[2]
local J = jmeta(id)
if not J then return done({ 'notfound' }) end
if J.s == 'running' then return done({ 'state', J.s }) end
if J.s ~= 'available' then
  local v = redis.call('HMGET', kj(id), 'a', 'ma')
  local a, ma = tonumber(v[1]) or 0, tonumber(v[2]) or 0
  local h = { 's', 'available', 'r', ARGV[3], 'f', '', 'res', 'null' }
  if a >= ma then h[#h + 1] = 'ma'; h[#h + 1] = ns(a + 1) end
  redis.call('HSET', kj(id), unpack(h))
  local from = J.s
  J.r = ARGV[3]
  moveIdx(id, J, from, 'available')
  WAKE[J.q] = true
end
flushPhase()
return done({ 'ok', record(id, true) })
