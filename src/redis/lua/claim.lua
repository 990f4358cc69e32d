-- claim.lua: jobClaim. Stages due jobs of the claim's queues, then leases up to `limit` available jobs in
-- claim order (see Store.jobClaim and claimJobs in lib.lua).
-- @keys limits nrun paused running rl rlf rle gseq events evon s:scheduled s:retryable s:cancelled s:discarded
-- @uses claim
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] now; ARGV[3...] claim params: nQueues, queues..., nNames, names..., owner, limit,
--   leaseMs, nonce (lease tokens are "<nonce>.<n>").
-- Returns { wakes, claimed jobs (see claimJobs in lib.lua) }.
local c = readClaim(ARGV, 3)
return done(claimJobs(c.queues, c.names, c.owner, c.limit, c.leaseMs, tonumber(ARGV[2]), c.nonce))
