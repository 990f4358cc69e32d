-- insert.lua: jobInsert and jobInsertMany. Inserts jobs in order, atomically; each keyed job first applies
-- its dedupe policy (and sees the jobs inserted before it in the same call). Idempotent per call token: a
-- call re-sent after a reconnect returns what the first one did instead of inserting again.
-- @keys id queues running nrun events evon s:scheduled s:retryable s:cancelled s:discarded
-- @uses insert
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order; last: {p}:tok:<call token>.
-- ARGV[1] origin; ARGV[2] token TTL (ms); ARGV[3...] the insert block (see readInserts in lib.lua).
-- Returns { wakes, one entry per job (see insertJobs in lib.lua) }.
local tokenKey = KEYS[#KEYS]
local prev = redis.call('GET', tokenKey)
if prev then
  local out = {}
  for outcome, id in string.gmatch(prev, '(%a+) (%d+)') do
    local v = redis.call('HMGET', kj(id), 's', 'r')
    out[#out + 1] = { outcome, id, v[1] or 'available', v[2] or '0', record(id, true) }
  end
  return { '', out }
end
local shapes, count, jobsAt = readInserts(ARGV, 3)
local out = insertJobs(shapes, ARGV, jobsAt, count)
local seen = {}
if type(out) == 'string' then
  for id in string.gmatch(out, '(%d+) %a+ [^\n]*') do seen[#seen + 1] = 'inserted ' .. id end
else
  for i, r in ipairs(out) do
    if type(r) == 'string' then seen[i] = 'inserted ' .. string.match(r, '^%d+') else seen[i] = r[1] .. ' ' .. r[2] end
  end
end
redis.call('SET', tokenKey, table.concat(seen, ','), 'PX', ARGV[2])
return done(out)
