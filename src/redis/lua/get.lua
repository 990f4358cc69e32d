-- get.lua: jobGet. The job with its log lines.
-- @keys
-- @uses jobs
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] id.
-- Returns { id, hash fields, log lines } or false.
return record(ARGV[2], true)
