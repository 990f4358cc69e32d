-- finish.lua: jobFinishMany. Applies attempt outcomes of jobs still running under their lease token, in
-- order, then (optionally) claims more in the same call: a worker completes and refills in one round trip.
-- @keys limits nrun paused running rl rlf rle gseq events evon stats statm s:scheduled s:retryable s:cancelled s:discarded
-- @uses claim stats nextrun
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order.
-- ARGV[1] origin; ARGV[2] now; ARGV[3] update count; then per update either a short form for the common
-- completions, id, token, "c" (result null) or id, token, "cr", result JSON, or the full form:
--   id, token, outcome (complete|retry|discard|snooze|cancel|release), x1 (complete: result JSON; retry and
--   snooze: runAt), x2 (retry, discard, cancel: error JSON), has progress (1/0), progress JSON, log count,
--   log lines (JSON each)...
-- then "1" and claim params (see claim.lua), or "0".
-- Returns { wakes, { applied (one character "1"/"0" per update), claimed (see claimJobs in lib.lua), next } },
-- next being "" unless the claim came back short, then jobNextRunAt for the claim ("n" for null): an idle
-- worker learns when to look again without another call.
local now = tonumber(ARGV[2])
local nowText = ARGV[2]
local count = tonumber(ARGV[3])
local at = 4
local applied = {}
-- A call without updates (a worker's first claim) builds none of the update loop's tables.
local evon, STAT, FINAL, moved, runs, completes, leaving
if count > 0 then
  evon = eventsOn()
  STAT = { complete = 'c', retry = 'r', discard = 'd', cancel = 'x' }
  FINAL = { complete = 'completed', discard = 'discarded', cancel = 'cancelled' }
  moved = {}
  runs = {}
  -- Completions by queue, counted once after the loop (stat); ids leaving a group's occupying set on the hot
  -- path, by set (removed right after the loop: nothing in the loop reads those sets).
  completes = {}
  leaving = {}
end
for u = 1, count do
  local id, token, kind = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local x1, x2, hasProgress, progress, nlogs, logsAt
  if kind == 'c' or kind == 'cr' then
    -- The hot path of the short forms (complete, no progress, no logs): only the fields it needs, the hash
    -- written directly, the index changes of moveIdx(running -> completed) buffered with text scores.
    if kind == 'c' then
      x1 = 'null'
      at = at + 3
    else
      x1 = ARGV[at + 3]
      at = at + 4
    end
    local jk = kj(id)
    local v = redis.call('HMGET', jk, 's', 'lt', 'q', 'n', 'g')
    if v[1] ~= 'running' or v[2] ~= token then
      applied[u] = '0'
    else
      applied[u] = '1'
      -- An absent result reads as null.
      if x1 ~= 'null' then
        redis.call('HSET', jk, 's', 'completed', 'f', nowText, 'res', x1)
      else
        redis.call('HSET', jk, 's', 'completed', 'f', nowText)
      end
      local q, n, g = v[3], v[4], v[5]
      local m = enc(id)
      zr(K.running, m)
      za(kf(q, 'completed'), nowText, m)
      runs[n] = (runs[n] or 0) + 1
      local mq = moved[q]
      if not mq then mq = {}; moved[q] = mq end
      mq.completed = (mq.completed or 0) + 1
      completes[q] = (completes[q] or 0) + 1
      if g and g ~= '' then
        -- groupMoved(running -> completed): leaves the occupying set, running and live counts drop; the
        -- group may have a claimable job now (its workers are woken if so, see flushPhase).
        local gmm = gm(q, g)
        local gk = kgo(q, g)
        local ids = leaving[gk]
        if not ids then ids = {}; leaving[gk] = ids end
        ids[#ids + 1] = id
        gmm.win, gmm.flats = nil, nil
        gset(gmm, 'r', gmm.r - 1)
        gset(gmm, 'n', gmm.n - 1)
        local t = TOUCHED[gmm.tk]
        if not t then t = { q = q, g = g }; TOUCHED[gmm.tk] = t end
        t.wake = true
      end
      if evon then emit({ t = 'finished', o = 'complete', n = nowText, j = evJob(id) }) end
    end
  else
    x1, x2 = ARGV[at + 3], ARGV[at + 4]
    hasProgress, progress, nlogs = ARGV[at + 5], ARGV[at + 6], tonumber(ARGV[at + 7])
    logsAt = at + 8
    at = logsAt + nlogs
    local jk = kj(id)
    local v
    if kind == 'complete' then
      v = redis.call('HMGET', jk, 's', 'lt', 'q', 'n', 'g', 'p', 'l', 'r', 'gh', 'gc')
    else
      v = redis.call('HMGET', jk, 's', 'lt', 'q', 'n', 'g', 'p', 'l', 'r', 'gh', 'gc', 'a', 'e')
    end
    if v[1] ~= 'running' or v[2] ~= token then
      applied[u] = '0'
    else
      applied[u] = '1'
      if nlogs > 0 then
        local lines = {}
        for i = logsAt, logsAt + nlogs - 1 do lines[#lines + 1] = ARGV[i] end
        chunked('RPUSH', kl(id), lines)
      end
      local q, n, g = v[3], v[4], v[5] or ''
      local to = FINAL[kind]
      local h = { 's', to or '' }
      if hasProgress == '1' then h[#h + 1] = 'pr'; h[#h + 1] = progress end
      local runAt = nil
      if kind == 'complete' then
        h[#h + 1] = 'f'; h[#h + 1] = nowText
        -- An absent result reads as null.
        if x1 ~= 'null' then h[#h + 1] = 'res'; h[#h + 1] = x1 end
      elseif to ~= nil then
        h[#h + 1] = 'e'; h[#h + 1] = appendError(v[12], x2)
        h[#h + 1] = 'f'; h[#h + 1] = nowText
      elseif kind == 'retry' then
        to = 'retryable'
        runAt = x1
        h[#h + 1] = 'e'; h[#h + 1] = appendError(v[12], x2)
      else
        -- snooze and release give the attempt back.
        if kind == 'snooze' then to, runAt = 'scheduled', x1 else to, runAt = 'available', nowText end
        h[#h + 1] = 'a'; h[#h + 1] = ns(math.max(0, (tonumber(v[11]) or 0) - 1))
      end
      h[2] = to
      if runAt then
        h[#h + 1] = 'r'; h[#h + 1] = runAt
        WAKE[q] = true
      end
      redis.call('HSET', jk, unpack(h))
      if g == '' and to ~= 'available' then
        -- The ungrouped hot path of moveIdx(running -> to).
        local m = enc(id)
        zr(K.running, m)
        runs[n] = (runs[n] or 0) + 1
        local mq = moved[q]
        if not mq then mq = {}; moved[q] = mq end
        mq[to] = (mq[to] or 0) + 1
        if runAt then za(kw(q), tonumber(runAt), id) else za(kf(q, to), nowText, m) end
        local sk = stateIndex(to)
        if sk then za(sk, tonumber(id), id) end
      else
        -- The job as jmeta would read it now (this update's state, run time and finish time).
        local J = {
          s = to, q = q, n = n, p = v[6] or '0', l = v[7] or '0', r = runAt or v[8], g = g, gh = v[9] or '1',
          gc = v[10] or '1', f = FINAL[kind] and nowText or '',
        }
        moveIdx(id, J, 'running', to)
      end
      local counter = STAT[kind]
      if counter then stat(q, counter, now) end
      if evon and kind ~= 'release' then emit({ t = 'finished', o = kind, n = nowText, j = evJob(id) }) end
    end
  end
end
if count > 0 then
  for gk, ids in pairs(leaving) do chunked('ZREM', gk, ids) end
  for q, k in pairs(completes) do stat(q, 'c', now, k) end
  for q, byState in pairs(moved) do
    local total = 0
    for state, k in pairs(byState) do
      hi(kc(q), state, k)
      total = total + k
    end
    hi(kc(q), 'running', -total)
  end
  for name, k in pairs(runs) do hi(K.nrun, name, -k) end
end
local claimed = {}
local nextAt = ''
if ARGV[at] == '1' then
  local c = readClaim(ARGV, at + 1)
  flushPhase(true, groupPrefetch(c.queues, c.limit))
  claimed = claimJobs(c.queues, c.names, c.owner, c.limit, c.leaseMs, now, c.nonce)
  if #claimed < c.limit then
    local queues, names = {}, {}
    for _, q in ipairs(c.queues) do queues[q] = true end
    for _, n in ipairs(c.names) do names[n] = true end
    local t = nextRunAt(queues, names, nowText)
    nextAt = t == nil and 'n' or ns(t)
  end
end
return done({ table.concat(applied), claimed, nextAt })
