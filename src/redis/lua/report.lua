-- report.lua: jobReport. Stores progress and appends log lines of a job still running under the token.
-- @keys events evon
-- @uses phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] id; ARGV[3] token; ARGV[4] has progress (1/0); ARGV[5] progress JSON;
-- ARGV[6...] log lines (JSON each).
-- Returns { wakes, "1" if the lease is held (and the report stored), else "0" }.
local id = ARGV[2]
local v = redis.call('HMGET', kj(id), 's', 'lt')
if v[1] ~= 'running' or v[2] ~= ARGV[3] then return done('0') end
if ARGV[4] == '1' then redis.call('HSET', kj(id), 'pr', ARGV[5]) end
local lines = {}
for i = 6, #ARGV do lines[#lines + 1] = ARGV[i] end
if #lines > 0 then chunked('RPUSH', kl(id), lines) end
if eventsOn() then
  local j = evJob(id)
  if ARGV[4] == '1' then emit({ t = 'progress', j = j }) end
  if #lines > 0 then emit({ t = 'log', j = j, l = '[' .. table.concat(lines, ',') .. ']' }) end
end
return done('1')
