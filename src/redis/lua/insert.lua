-- insert.lua: jobInsert and jobInsertMany. Inserts jobs in order, atomically; each keyed job first applies
-- its dedupe policy (and sees the jobs inserted before it in the same call). Idempotent per call token: a
-- call re-sent after a reconnect returns what the first one did instead of inserting again.
-- @keys id queues running nrun events evon s:scheduled s:retryable s:cancelled s:discarded
-- @uses insert
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order; last: {p}:tok:<call token>.
-- ARGV[1] origin; ARGV[2] token TTL (ms); ARGV[3...] the insert block (see readInserts in lib.lua).
-- Returns { wakes, one entry per job (see insertJobs in lib.lua) }.
-- The token's value: when no job had a dedupe key, "=<first id> <count>"; else when every job was inserted,
-- "\n" and insertJobs' text reply as it is (a line "<id> <state> <runAt>" per job: stored without another
-- pass over it); otherwise "<outcome> <id>" per job, comma-separated.
local tokenKey = KEYS[#KEYS]
local prev = redis.call('GET', tokenKey)
if prev then return insertAgain(prev) end
local shapes, count, jobsAt = readInserts(ARGV, 3)
local out = insertJobs(shapes, ARGV, jobsAt, count)
local value
if type(out) == 'string' and string.sub(out, 1, 1) == '=' then
  value = out .. ' ' .. count
elseif type(out) == 'string' then
  value = '\n' .. out
else
  local seen = {}
  for i, r in ipairs(out) do
    if type(r) == 'string' then seen[i] = 'inserted ' .. string.match(r, '^%d+') else seen[i] = r[1] .. ' ' .. r[2] end
  end
  value = table.concat(seen, ',')
end
redis.call('SET', tokenKey, value, 'PX', ARGV[2])
return done(out)
