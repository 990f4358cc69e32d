-- promote.lua: jobPromote. A scheduled or retryable job becomes available at now (attempts unchanged); an
-- available job is returned unchanged; running and final jobs are refused.
-- @keys running nrun s:scheduled s:retryable s:cancelled s:discarded
-- @uses transitions phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] id; ARGV[3] now.
-- Returns { wakes, { "ok", record } | { "notfound" } | { "state", current state } }.
local id = ARGV[2]
local J = jmeta(id)
if not J then return done({ 'notfound' }) end
if J.s == 'scheduled' or J.s == 'retryable' then
  redis.call('HSET', kj(id), 's', 'available', 'r', ARGV[3])
  local from = J.s
  J.r = ARGV[3]
  moveIdx(id, J, from, 'available')
  WAKE[J.q] = true
elseif J.s ~= 'available' then
  return done({ 'state', J.s })
end
flushPhase()
return done({ 'ok', record(id, true) })
