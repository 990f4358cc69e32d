-- delete.lua: jobDelete. Deletes a job that is not running, with its logs and index entries.
-- @keys running nrun s:scheduled s:retryable s:cancelled s:discarded
-- @uses transitions phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] id.
-- Returns { wakes, { "ok", "1" deleted | "0" absent } | { "state", "running" } }.
local id = ARGV[2]
local J = jmeta(id)
if not J then return done({ 'ok', '0' }) end
if J.s == 'running' then return done({ 'state', J.s }) end
removeJob(id, J)
return done({ 'ok', '1' })
