-- next-run.lua: jobNextRunAt. The earliest runAt of scheduled or retryable jobs in `queues` and, when `now`
-- is given, the earliest time after `now` at which a full rate limit that applies to them frees.
-- @keys rlf
-- @uses nextrun
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] now ("" when not given); ARGV[3] nQueues, queues..., nNames, names...
-- Returns the time as text, or false.
local nq = tonumber(ARGV[3])
local queues, names = {}, {}
for i = 1, nq do queues[ARGV[3 + i]] = true end
local at = 4 + nq
local nn = tonumber(ARGV[at])
for i = 1, nn do names[ARGV[at + i]] = true end
local next = nextRunAt(queues, names, ARGV[2] ~= '' and ARGV[2] or nil)
if next == nil then return false end
return ns(next)
