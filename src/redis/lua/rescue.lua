-- rescue.lua: jobRescue. Running jobs whose lease expired before `now` (earliest expiry first, then id):
-- a cancel request cancels the job; otherwise a stall is counted and the job becomes available again, or is
-- discarded once its stalls exceed maxStalls (see JobRescueResult).
-- @keys running nrun events evon stats statm s:scheduled s:retryable s:cancelled s:discarded
-- @uses transitions phases
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] now; ARGV[3] limit.
-- Returns { wakes, { cancelled ids, discarded ids, rescued ids } }.
local now = tonumber(ARGV[2])
local nowText = ARGV[2]
local limit = tonumber(ARGV[3])
local cancelled, discarded, rescued = {}, {}, {}
if limit <= 0 then return done({ cancelled, discarded, rescued }) end
local evon = eventsOn()
local items = redis.call('ZRANGEBYSCORE', K.running, '-inf', '(' .. nowText, 'LIMIT', 0, limit)
for _, member in ipairs(items) do
  local id = dec(member)
  local v = redis.call('HMGET', kj(id), 's', 'le', 'cr', 'a', 'st', 'ms', 'q', 'n', 'p', 'l', 'r', 'g', 'gh', 'gc', 'e')
  if v[1] ~= 'running' then
    zr(K.running, member)
  else
    local a = tonumber(v[4]) or 0
    local J = {
      q = v[7], n = v[8], p = v[9] or '0', l = v[10] or '0', r = v[11], g = v[12] or '', gh = v[13] or '1', gc = v[14] or '1',
    }
    local h = {}
    local to, outcome
    stat(J.q, 's', now)
    if v[3] == '1' then
      local err = '{"attempt":' .. ns(a) .. ',"at":' .. nowText .. ',"kind":"cancel","message":' ..
        cjson.encode('cancel requested; the lease expired before the worker finished the job') ..
        ',"name":"JobCancelledError"}'
      to, outcome = 'cancelled', 'cancelled'
      h[#h + 1] = 'e'; h[#h + 1] = appendError(v[15], err)
      h[#h + 1] = 'f'; h[#h + 1] = nowText
      J.f = nowText
      cancelled[#cancelled + 1] = id
      stat(J.q, 'x', now)
    else
      local stalls = (tonumber(v[5]) or 0) + 1
      local err = '{"attempt":' .. ns(a) .. ',"at":' .. nowText .. ',"kind":"stall","message":' ..
        cjson.encode('lease expired at ' .. (v[2] or '?') ..
          ' without renewal: the worker died or blocked its event loop') .. ',"name":"StallError"}'
      h[#h + 1] = 'st'; h[#h + 1] = ns(stalls)
      h[#h + 1] = 'e'; h[#h + 1] = appendError(v[15], err)
      h[#h + 1] = 'a'; h[#h + 1] = ns(math.max(0, a - 1))
      if stalls > (tonumber(v[6]) or 0) then
        to, outcome = 'discarded', 'discarded'
        h[#h + 1] = 'f'; h[#h + 1] = nowText
        J.f = nowText
        discarded[#discarded + 1] = id
        stat(J.q, 'd', now)
      else
        to, outcome = 'available', 'rescued'
        h[#h + 1] = 'r'; h[#h + 1] = nowText
        J.r = nowText
        rescued[#rescued + 1] = id
        WAKE[J.q] = true
      end
    end
    h[#h + 1] = 's'; h[#h + 1] = to
    redis.call('HSET', kj(id), unpack(h))
    moveIdx(id, J, 'running', to)
    if evon then emit({ t = 'stalled', o = outcome, j = evJob(id) }) end
  end
end
return done({ cancelled, discarded, rescued })
