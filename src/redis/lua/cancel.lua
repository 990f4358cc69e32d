-- cancel.lua: jobCancel. A scheduled, available or retryable job becomes cancelled at now; a running job
-- gets cancelRequested (its worker aborts it); a final job is returned unchanged.
-- @keys running nrun s:scheduled s:retryable s:cancelled s:discarded
-- @uses transitions phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] id; ARGV[3] now.
-- Returns { wakes, { "ok", record } | { "notfound" } }.
local id = ARGV[2]
local J = jmeta(id)
if not J then return done({ 'notfound' }) end
if J.s == 'running' then
  redis.call('HSET', kj(id), 'cr', '1')
elseif J.s == 'scheduled' or J.s == 'available' or J.s == 'retryable' then
  redis.call('HSET', kj(id), 's', 'cancelled', 'f', ARGV[3])
  local from = J.s
  J.f = ARGV[3]
  moveIdx(id, J, from, 'cancelled')
end
flushPhase()
return done({ 'ok', record(id, true) })
