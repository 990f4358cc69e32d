-- Conveyor Redis store: helpers shared by the scripts (layout and rules: docs/guides/redis.md). `scripts.ts`
-- builds two forms from this file and the script bodies:
-- - a Redis Functions library (Redis 7+): this whole file once, then each body as a registered function
--   `conveyor_<version>_<script>`; the helpers below are created once, when the library loads;
-- - EVALSHA scripts (Redis 6.2): each body with the part of this file before the first section and the
--   sections named on its `-- @uses` line (with their dependencies, listed after a section's name), since a
--   script defines its helpers again at every call.
-- Either way `begin(KEYS, ARGV, KEYNAMES)` runs first at every call and resets the per-call state below.
--
-- KEYS[1] is the key prefix's hash tag `{p}` itself; KEYS[2...] are the store-wide keys the script uses, named
-- on its `-- @keys` header line (scripts.ts passes `{p}:<name>` for each, and the names as KEYNAMES). Keys per
-- job, queue, group, dedupe key or schedule are derived from the tag (`{p}:j:<id>`...): every key a script
-- touches is in the slot of the hash tag `{p}` (the store runs on Redis Cluster, one slot per prefix).
-- ARGV[1] is the calling store instance's id (the origin of wake-ups and events).
--
-- Job hash fields with a default are left out at insert: p (priority, "0"), l (lifo, "0"), m (meta, "{}"),
-- gh ("1"), gc ("1"); readers apply the default.
-- Conventions: numbers cross into Redis as strings; `ns` formats a number exactly (Lua's own tostring keeps
-- 14 digits only). Job hash fields with an empty value ("") or no value mean null; the lease fields (lo, lt,
-- le, cr) mean something only while the job is running (readers ignore them otherwise, so finishing a job
-- need not clear them). Index writes that no later read of the same script phase needs go through the
-- write buffer (`za`, `zr`, `hi`, flushed by `flushPhase`), so a batch of N jobs costs one ZADD per index,
-- not N.

-- Per-call state (reset by `begin`): the tag; store-wide keys by name (K) and the per-state id indexes
-- (S: "s:<state>", for listing; the two busiest states have none: available jobs are listed from the queue
-- index, where waiting jobs are the newest ids, completed ones are most of what a queue index holds, and
-- running ones come from the lease set); the caller's origin; key memos; the write buffer (WZ, WH); the
-- groups touched and queues woken; the events of the call; minute counters; rate accounting.
local B, K, S, ORIGIN, KC, KF
local WZ, WH, TOUCHED, WAKE, EV, EVMAX, STATM, STATQ, RATES, GM, GRP
-- The earliest run time in each queue's waiting set after a claim's staging (see stageQueue), or nil.
local WFIRST

-- Per key-name list (a script's KEYNAMES, one table per script): its names split once into K and S names,
-- and the K and S tables of its calls (each call overwrites every entry, so a table is reused). The key memos
-- (KC, KF) derive from the tag only and are kept while calls use the same tag.
local KEYPLAN = {}
local function keyPlan(keynames)
  local kn, sn = {}, {}
  for i, name in ipairs(keynames) do
    if string.sub(name, 1, 2) == 's:' then sn[i] = string.sub(name, 3) else kn[i] = name end
  end
  local plan = { n = #keynames, kn = kn, sn = sn, K = {}, S = {} }
  KEYPLAN[keynames] = plan
  return plan
end

local function begin(keys, args, keynames)
  local tag = keys[1]
  if tag ~= B or KC == nil then
    B = tag
    KC, KF = {}, {}
  end
  local plan = KEYPLAN[keynames] or keyPlan(keynames)
  local k, s, kn, sn = plan.K, plan.S, plan.kn, plan.sn
  for i = 1, plan.n do
    local name = kn[i]
    if name then k[name] = keys[i + 1] else s[sn[i]] = keys[i + 1] end
  end
  K, S = k, s
  ORIGIN = args[1]
  WZ, WH, TOUCHED, WAKE, EV, EVMAX, STATM, STATQ, RATES, GM, GRP = {}, {}, {}, {}, {}, nil, nil, {}, {}, {}, {}
  WFIRST = nil
end

local INDEXED = { scheduled = true, retryable = true, cancelled = true, discarded = true }
-- The index of a state (nil for the states without one); a script that moves jobs must declare all four.
local function stateIndex(s)
  if not INDEXED[s] then return nil end
  local key = S[s]
  if not key then error('conveyor: script does not declare key s:' .. s) end
  return key
end

-- Exact decimal text of a number (integers without exponent; others with 17 significant digits).
local function ns(x)
  if x == math.floor(x) and x > -9007199254740992 and x < 9007199254740992 then
    return string.format('%.0f', x)
  end
  return string.format('%.17g', x)
end

-- Members of the sets whose ties must follow id order (available, running, finished): one length byte, then
-- the id, so byte order is numeric order.
local function enc(id) return string.char(#id) .. id end
local function dec(m) return string.sub(m, 2) end

-- Keys derived from the prefix. Queue and job names hold no "/" (see assertName), so "/" separates parts;
-- free-form parts (group keys, dedupe keys, ids) come last.
local function kj(id) return B .. ':j:' .. id end
local function kl(id) return B .. ':l:' .. id end
local function kav(q, n, p) return B .. ':av:' .. q .. '/' .. n .. '/' .. p end
local function kap(q, n) return B .. ':ap:' .. q .. '/' .. n end
local function kw(q) return B .. ':w:' .. q end
local function kc(q)
  local k = KC[q]
  if not k then k = B .. ':c:' .. q; KC[q] = k end
  return k
end
local function kqi(q) return B .. ':qi:' .. q end
local function kf(q, s)
  local t = KF[s]
  if not t then t = {}; KF[s] = t end
  local k = t[q]
  if not k then k = B .. ':f:' .. q .. '/' .. s; t[q] = k end
  return k
end
local function kk(key) return B .. ':k:' .. key end
local function kgi(g) return B .. ':gi:' .. g end
local function kg(q, g) return B .. ':g:' .. q .. '/' .. g end
local function kgo(q, g) return B .. ':go:' .. q .. '/' .. g end
local function kgr(q, p) return B .. ':gr:' .. q .. '/' .. p end
local function kgrp(q) return B .. ':grp:' .. q end
local function ksc(id) return B .. ':sc:' .. id end

-- @section buffer
-- ---------------------------------------------------------------------------------------------------------
-- Write buffer: sorted-set adds and removes (the last one per member wins) and hash increments.

local function za(key, score, member)
  local t = WZ[key]
  if not t then t = {}; WZ[key] = t end
  t[member] = score
end
local function zr(key, member)
  local t = WZ[key]
  if not t then t = {}; WZ[key] = t end
  t[member] = false
end
local function hi(key, field, d)
  local t = WH[key]
  if not t then t = {}; WH[key] = t end
  t[field] = (t[field] or 0) + d
end

-- Calls `cmd key ...args` in chunks of at most 4,000 arguments (Lua's unpack limit is ~8,000).
local function chunked(cmd, key, args)
  local n = #args
  local i = 1
  while i <= n do
    local j = math.min(n, i + 3999)
    redis.call(cmd, key, unpack(args, i, j))
    i = j + 1
  end
end

-- Writes the buffered changes of one sorted set (member -> score, or false to remove it): at most one ZREM
-- and one ZADD (chunked), and a single change without building argument lists (the common small call).
local function writeSet(key, t)
  local m1, s1 = next(t)
  if m1 == nil then return end
  if next(t, m1) == nil then
    if s1 then redis.call('ZADD', key, s1, m1) else redis.call('ZREM', key, m1) end
    return
  end
  local add, rem = {}, {}
  for m, s in pairs(t) do
    if s then add[#add + 1] = s; add[#add + 1] = m else rem[#rem + 1] = m end
  end
  if #rem > 0 then chunked('ZREM', key, rem) end
  if #add > 0 then chunked('ZADD', key, add) end
end

local function flushW()
  if next(WZ) ~= nil then
    for key, t in pairs(WZ) do writeSet(key, t) end
    WZ = {}
  end
  if next(WH) ~= nil then
    for key, t in pairs(WH) do
      for f, d in pairs(t) do
        if d ~= 0 then redis.call('HINCRBY', key, f, d) end
      end
    end
    WH = {}
  end
end

-- @section jobs
-- ---------------------------------------------------------------------------------------------------------
-- Jobs

local LIFO_BASE = -2251799813685248 -- -2^51: LIFO scores sit below every run time, newest (highest id) first
local LIFO_CUT = -1125899906842624

local function isLive(s) return s == 'scheduled' or s == 'available' or s == 'running' or s == 'retryable' end
local function isFinal(s) return s == 'completed' or s == 'cancelled' or s == 'discarded' end

-- The fields of a job that decide where its id is indexed.
local function jmeta(id)
  local v = redis.call('HMGET', kj(id), 's', 'q', 'n', 'p', 'l', 'r', 'g', 'gh', 'gc', 'k', 'le', 'f')
  if not v[1] then return nil end
  return {
    s = v[1], q = v[2], n = v[3], p = v[4] or '0', l = v[5] or '0', r = v[6], g = v[7] or '', gh = v[8] or '1',
    gc = v[9] or '1', k = v[10] or '', le = v[11] or '', f = v[12] or '',
  }
end

-- HGETALL as a map.
local function hmap(flat)
  local m = {}
  for i = 1, #flat, 2 do m[flat[i]] = flat[i + 1] end
  return m
end

-- The job record for a reply: id, hash fields, and its log lines (or false when not asked).
local function record(id, withLogs)
  local flat = redis.call('HGETALL', kj(id))
  if #flat == 0 then return false end
  local logs = false
  if withLogs then logs = redis.call('LRANGE', kl(id), 0, -1) end
  return { id, flat, logs }
end

local function avScore(J, id)
  if J.l == '1' then return LIFO_BASE - tonumber(id) end
  return tonumber(J.r)
end

-- Appends one error (JSON object text) to an errors array (JSON text, absent = []).
local function appendError(e, err)
  if not e or e == '' or e == '[]' then return '[' .. err .. ']' end
  return string.sub(e, 1, -2) .. ',' .. err .. ']'
end

-- @section groups: buffer jobs
-- ---------------------------------------------------------------------------------------------------------
-- Groups (per-group FIFO; see GroupSpec in src/store/store.ts)
--
-- Per (queue, group key): a hash {p}:g:<q>/<g> with c (concurrency), r (running), n (non-final jobs),
-- sv (the claim sequence that last served it), rp (priority of its claimable head when ready, else "");
-- a sorted set {p}:go:<q>/<g> of its occupying jobs by id (its window is the first c); and, while ready,
-- an entry in {p}:gr:<q>/<prio> scored by sv (least recently served first), with <prio> in {p}:grp:<q>.

-- A group's hash, read once per call (GM, keyed "<q>/<g>") and changed in memory; `gsave` writes the changed
-- fields back in one HSET (the call's last flushPhase saves every changed group), so a call that finishes,
-- refills and re-places a group reads and writes its hash once instead of once per change.
-- m.o holds the fields as stored (read, then saved), so `gsave` writes only the fields that differ. m.win
-- memoizes the group's window (ids, for concurrency m.winc) within the call, and m.flats the hashes of its
-- jobs a refresh read for the claim that follows (see refreshGroup): whatever changes the group's jobs
-- clears them (groupMoved, the hot paths of finish and claim).
local GFIELD = { c = 1, r = 2, n = 3, sv = 4, rp = 5 }
local function gm(q, g)
  local tk = q .. '/' .. g
  local m = GM[tk]
  if not m then
    local k = kg(q, g)
    local v = redis.call('HMGET', k, 'c', 'r', 'n', 'sv', 'rp')
    local rp = v[5] or ''
    m = {
      c = v[1], r = tonumber(v[2]) or 0, n = tonumber(v[3]) or 0, sv = v[4], rp = rp, rp0 = rp, d = {}, o = v,
      q = q, g = g, tk = tk, kg = k,
    }
    GM[tk] = m
  end
  return m
end
local function gset(m, field, value)
  m[field] = value
  m.d[field] = true
end
local function gsave(q, g, m)
  if next(m.d) == nil then return end
  local h = {}
  local o = m.o
  for f in pairs(m.d) do
    local v = m[f]
    if type(v) == 'number' then v = ns(v) end
    local i = GFIELD[f]
    if i == nil or v ~= o[i] then
      h[#h + 1] = f; h[#h + 1] = v
      if i then o[i] = v end
    end
  end
  if #h > 0 then redis.call('HSET', m.kg or kg(q, g), unpack(h)) end
  m.d = {}
end

local function occupies(s, hold)
  return s == 'available' or s == 'running' or (hold and (s == 'scheduled' or s == 'retryable'))
end

local function groupMoved(id, J, from, to)
  local q, g = J.q, J.g
  local m = gm(q, g)
  m.flats = nil
  local hold = J.gh ~= '0'
  local wasOcc = from ~= nil and occupies(from, hold)
  local isOcc = to ~= nil and occupies(to, hold)
  if wasOcc and not isOcc then
    redis.call('ZREM', kgo(q, g), id)
    m.win = nil
  elseif isOcc and not wasOcc then
    redis.call('ZADD', kgo(q, g), tonumber(id), id)
    m.win = nil
  end
  if from == 'running' then gset(m, 'r', m.r - 1) end
  if to == 'running' then gset(m, 'r', m.r + 1) end
  local wasLive = from ~= nil and isLive(from)
  local nowLive = to ~= nil and isLive(to)
  if wasLive and not nowLive then
    gset(m, 'n', m.n - 1)
  elseif nowLive and not wasLive then
    gset(m, 'n', m.n + 1)
    if m.c == nil then gset(m, 'c', J.gc) end
  end
  local tk = q .. '/' .. g
  local t = TOUCHED[tk]
  if not t then t = { q = q, g = g, wake = false }; TOUCHED[tk] = t end
  -- A change other than a claim may make the group's next job claimable: wake its workers (see flushPhase).
  if from ~= nil and to ~= 'running' then t.wake = true end
end

-- Changes to the ready sets ({p}:gr:<q>/<prio>) that wait for the call's last phase (flushPhase without
-- `keep`), by key: group -> score (added, or moved) or false (removed from the set as stored). A claim reads a
-- ready set as stored with these applied (see claimJobs), so a call that frees a group, refills it and
-- re-places it does not write the group into a ready set only to remove it again (and one that re-places many
-- writes each set once). The table belongs to the current call: `begin` gives every call a new GM.
local GRWT, GRWCALL = nil, nil
local function readyChanges()
  if GRWCALL ~= GM then GRWT, GRWCALL = {}, GM end
  return GRWT
end
-- The pending changes of one ready set.
local function readyTable(q, prio)
  local all = readyChanges()
  local k = kgr(q, prio)
  local t = all[k]
  if not t then t = {}; all[k] = t end
  return t
end
local function readyAdd(q, prio, g, sv)
  readyTable(q, prio)[g] = sv
end
-- `m`: the group's hash (m.rp0: the priority of the ready set it is in as stored, "" none).
local function readyRemove(q, prio, g, m)
  local t = readyTable(q, prio)
  -- Not in that set as stored (added by this call): forgetting the pending add removes it.
  if prio == m.rp0 then t[g] = false else t[g] = nil end
end
local function readyFlush()
  if GRWCALL ~= GM then return end
  for k, t in pairs(GRWT) do writeSet(k, t) end
  GRWT = {}
end

-- Byte order of two different strings (a sorted set's order of members with equal scores).
local function bytesBefore(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- The group's window: its first `c` occupying job ids (memoized in m.win, see gm).
local function gwindow(q, g, m, c)
  local win = m.win
  if win == nil or m.winc ~= c then
    win = redis.call('ZRANGE', kgo(q, g), 0, c - 1)
    m.win, m.winc = win, c
  end
  return win
end

-- Recomputes whether the group is ready and its place among the ready groups (`force`: re-placed even if
-- unchanged, after a claim changed its sv). Deletes a group without non-final jobs. Returns whether ready.
-- The group's hash is saved by the next flushPhase that saves (see there).
local function refreshGroup(q, g, force, prefetch)
  local m = gm(q, g)
  local c = tonumber(m.c) or 1
  local r = m.r
  local n = m.n
  local rp = m.rp
  if n <= 0 then
    if rp ~= '' then readyRemove(q, rp, g, m) end
    redis.call('DEL', kg(q, g), kgo(q, g))
    GM[q .. '/' .. g] = nil
    return false
  end
  local prio = ''
  if r < c then
    for _, jid in ipairs(gwindow(q, g, m, c)) do
      if prefetch then
        -- A claim follows that will likely take this job: read its whole hash once, for both (groupPicks).
        local flat = redis.call('HGETALL', kj(jid))
        local fl = m.flats
        if not fl then fl = {}; m.flats = fl end
        fl[jid] = flat
        local st, p = nil, nil
        for f = 1, #flat, 2 do
          local name = flat[f]
          if name == 's' then st = flat[f + 1] elseif name == 'p' then p = flat[f + 1] end
        end
        if st == 'available' then prio = p or '0'; break end
      else
        local v = redis.call('HMGET', kj(jid), 's', 'p')
        if v[1] == 'available' then prio = v[2] or '0'; break end
      end
    end
  end
  if prio == rp and not force then return prio ~= '' end
  if rp ~= '' and rp ~= prio then readyRemove(q, rp, g, m) end
  if prio ~= '' then
    -- sv is text as read (or a number once a claim set it); absent: 0.
    readyAdd(q, prio, g, m.sv or '0')
    local pk = q .. '/' .. prio
    if not GRP[pk] then
      -- Once per call and (queue, priority); the claim drops a priority whose set it finds empty.
      GRP[pk] = true
      redis.call('ZADD', kgrp(q), tonumber(prio), prio)
    end
  end
  if prio ~= rp then gset(m, 'rp', prio) end
  return prio ~= ''
end

-- @section transitions: buffer jobs groups
-- ---------------------------------------------------------------------------------------------------------
-- State transitions: moves a job's id between the indexes of its old and new state. The caller writes the
-- job hash (state and changed fields) itself, in one HSET. `from` nil: a new job; `to` nil: a deleted one.
-- J holds q, n, p, l, r, g, gh, gc and, for the new state, le (running) or f (final).

local function moveIdx(id, J, from, to)
  local q = J.q
  if from then
    if from == 'available' then
      if J.g == '' then zr(kav(q, J.n, J.p), enc(id)) end
    elseif from == 'scheduled' or from == 'retryable' then
      zr(kw(q), id)
    elseif from == 'running' then
      zr(K.running, enc(id))
      hi(K.nrun, J.n, -1)
    else
      zr(kf(q, from), enc(id))
    end
    local sk = stateIndex(from)
    if sk then zr(sk, id) end
    hi(kc(q), from, -1)
  end
  if to then
    if to == 'available' then
      if J.g == '' then
        za(kav(q, J.n, J.p), avScore(J, id), enc(id))
        za(kap(q, J.n), tonumber(J.p), J.p)
      end
    elseif to == 'scheduled' or to == 'retryable' then
      za(kw(q), tonumber(J.r), id)
    elseif to == 'running' then
      za(K.running, tonumber(J.le), enc(id))
      hi(K.nrun, J.n, 1)
    else
      za(kf(q, to), tonumber(J.f), enc(id))
    end
    local sk = stateIndex(to)
    if sk then za(sk, tonumber(id), id) end
    hi(kc(q), to, 1)
  end
  if J.g ~= '' then groupMoved(id, J, from, to) end
end

-- Deletes a job and every trace of it (the caller checked it is not running).
local function removeJob(id, J)
  moveIdx(id, J, J.s, nil)
  zr(kqi(J.q), id)
  if J.k ~= '' then redis.call('ZREM', kk(J.k), id) end
  if J.g ~= '' then zr(kgi(J.g), id) end
  redis.call('DEL', kj(id), kl(id))
end

-- @section events: jobs
-- ---------------------------------------------------------------------------------------------------------
-- Events: at most one stream entry per script call, written only while a listener is registered
-- ({p}:evon holds the stream's length bound; see docs/guides/redis.md, "Events across processes").

local function eventsOn()
  if EVMAX == nil then
    local v = redis.call('GET', K.evon)
    EVMAX = v and (tonumber(v) or 10000) or false
  end
  return EVMAX ~= false
end

-- The job as stored, for an event: a map of its hash fields plus its id.
local function evJob(id)
  local m = hmap(redis.call('HGETALL', kj(id)))
  m.id = id
  return m
end

local function emit(ev) EV[#EV + 1] = cjson.encode(ev) end

-- @section stats: buffer
-- ---------------------------------------------------------------------------------------------------------
-- Per-minute outcome counts (statsList): {p}:stats field "<minute>/<queue>/<counter>", and {p}:statm, a set of
-- "<minute>/<queue>" scored by minute. Counts older than 24 h behind the newest minute are dropped.

local STATS_KEEP = 86400000
-- The text of the last minute formatted (kept across calls: a pure memo).
local MINUTE, MINUTE_TEXT = nil, nil
local function stat(q, counter, now, d)
  local minute = now - (now % 60000)
  local byQ = STATQ[minute]
  if not byQ then byQ = {}; STATQ[minute] = byQ end
  local fields = byQ[q]
  if not fields then
    if minute ~= MINUTE then MINUTE, MINUTE_TEXT = minute, ns(minute) end
    local mq = MINUTE_TEXT .. '/' .. q
    -- Field names are built when first counted ("<minute>/<queue>" under mq).
    fields = { mq = mq }
    byQ[q] = fields
    za(K.statm, minute, mq)
  end
  local f = fields[counter]
  if not f then f = fields.mq .. '/' .. counter; fields[counter] = f end
  hi(K.stats, f, d or 1)
  if STATM == nil or minute > STATM then STATM = minute end
end

-- The sweep bound of the last newest minute (a pure memo, kept across calls).
local SWEPT, SWEPT_BOUND = nil, nil
local function sweepStats()
  if STATM == nil then return end
  if STATM ~= SWEPT then SWEPT, SWEPT_BOUND = STATM, '(' .. ns(STATM - STATS_KEEP) end
  local old = redis.call('ZRANGEBYSCORE', K.statm, '-inf', SWEPT_BOUND, 'LIMIT', 0, 64)
  for _, mq in ipairs(old) do
    redis.call('HDEL', K.stats, mq .. '/c', mq .. '/r', mq .. '/d', mq .. '/x', mq .. '/s')
    redis.call('ZREM', K.statm, mq)
  end
end

-- @section phases: buffer groups events stats
-- ---------------------------------------------------------------------------------------------------------
-- Phases and the end of a script

-- Applies buffered writes and recomputes the groups touched since the last phase, then saves the changed
-- group hashes, unless `keep` (a phase within the call: nothing reads a group's hash but `gm`, so a call that
-- refreshes a group, claims from it and re-places it writes its hash once, at the end). `prefetch`: queues
-- whose touched groups' claimable jobs a claim that follows will likely take (see groupPrefetch).
local function flushPhase(keep, prefetch)
  flushW()
  if next(TOUCHED) ~= nil then
    for _, t in pairs(TOUCHED) do
      if refreshGroup(t.q, t.g, false, prefetch and prefetch[t.q]) and t.wake then WAKE[t.q] = true end
    end
    TOUCHED = {}
  end
  if keep then return end
  readyFlush()
  for _, m in pairs(GM) do
    if next(m.d) ~= nil then gsave(m.q, m.g, m) end
  end
end

-- Ends a write script: flushes, publishes one wake-up per queue that may have claimable jobs, writes the
-- events of the call (one stream entry), and returns { queues woken (NUL-separated text), payload }.
local function done(payload)
  flushPhase()
  sweepStats()
  local wakes = {}
  for q in pairs(WAKE) do
    wakes[#wakes + 1] = q
    redis.call('PUBLISH', B .. ':wake:' .. q, ORIGIN)
  end
  if #EV > 0 and eventsOn() then
    redis.call('XADD', K.events, 'MAXLEN', '~', EVMAX, '*', 'o', ORIGIN, 'e', '[' .. table.concat(EV, ',') .. ']')
  end
  return { table.concat(wakes, '\0'), payload }
end

-- @section rates
-- ---------------------------------------------------------------------------------------------------------
-- Rate limits: sliding-window logs (see src/store/rate-window.ts, whose arithmetic this mirrors). A log is
-- text "at count,at count", oldest first, in the hash {p}:rl under its key ("q/<queue>", "t/<name>",
-- "g/<queue>/<group>"); {p}:rlf scores each key by when its full limit frees, {p}:rle by when it expires.

local function rparse(text)
  local log = {}
  if text then
    for a, c in string.gmatch(text, '([^ ,]+) ([^ ,]+)') do log[#log + 1] = { tonumber(a), tonumber(c) } end
  end
  return log
end

local function rtext(log)
  local parts = {}
  for i, e in ipairs(log) do parts[i] = ns(e[1]) .. ' ' .. ns(e[2]) end
  return table.concat(parts, ',')
end

local function rused(log, win, now)
  local from = now - win
  local used = 0
  for _, e in ipairs(log) do if e[1] > from then used = used + e[2] end end
  return used
end

local function rrecord(log, win, now, count)
  local from = now - win
  local out = {}
  for _, e in ipairs(log) do if e[1] > from then out[#out + 1] = { e[1], e[2] } end end
  local last = out[#out]
  if last and last[1] == now then
    last[2] = last[2] + count
  else
    out[#out + 1] = { now, count }
  end
  if last and last[1] > now then table.sort(out, function(a, b) return a[1] < b[1] end) end
  return out
end

local function rfreeAt(log, max, win, now)
  local from = now - win
  local live = {}
  local total = 0
  for _, e in ipairs(log) do
    if e[1] > from then live[#live + 1] = e; total = total + e[2] end
  end
  local excess = total - max + 1
  if excess <= 0 then return nil end
  for _, e in ipairs(live) do
    excess = excess - e[2]
    if excess <= 0 then return e[1] + win end
  end
  return nil
end

-- Rate accounting of one claim: each log read once, room net of what this claim took, written back once.
local function rentry(key, max, win)
  local e = RATES[key]
  if not e then
    e = { log = rparse(redis.call('HGET', K.rl, key)), max = max, win = win, taken = 0 }
    RATES[key] = e
  end
  return e
end

local function rroom(key, max, win, now)
  local e = rentry(key, max, win)
  local room = max - rused(e.log, win, now)
  if room < 0 then room = 0 end
  room = room - e.taken
  if room < 0 then room = 0 end
  return room
end

local function rtake(key)
  local e = RATES[key]
  if e then e.taken = e.taken + 1 end
end

local function rwrite(now)
  local wrote = false
  for key, e in pairs(RATES) do
    if e.taken > 0 then
      wrote = true
      local log = rrecord(e.log, e.win, now, e.taken)
      redis.call('HSET', K.rl, key, rtext(log))
      local freeAt = rfreeAt(log, e.max, e.win, now)
      if freeAt then redis.call('ZADD', K.rlf, freeAt, key) else redis.call('ZREM', K.rlf, key) end
      redis.call('ZADD', K.rle, log[#log][1] + e.win, key)
    end
  end
  RATES = {}
  if wrote then
    local old = redis.call('ZRANGEBYSCORE', K.rle, '-inf', now, 'LIMIT', 0, 16)
    for _, key in ipairs(old) do
      redis.call('HDEL', K.rl, key)
      redis.call('ZREM', K.rlf, key)
      redis.call('ZREM', K.rle, key)
    end
  end
end

-- "max window" text of a limit.
local function rlimit(text)
  if not text then return nil end
  local m, w = string.match(text, '^(%S+) (%S+)$')
  return { tonumber(m), tonumber(w) }
end

-- @section insert: jobs transitions events phases
-- ---------------------------------------------------------------------------------------------------------
-- Insert (jobInsert, jobInsertMany, scheduleFire). The jobs of a call come as a block of arguments:
--   shape count, then per shape SHAPE_FIELDS arguments: name, queue, priority, lifo (1/0), maxAttempts,
--     maxStalls, timeoutMs ("" null), now, dedupe policy ("" without key), windowMs, group concurrency,
--     group hold (1 hold / 0 continue);
--   job count, then per job JOB_FIELDS arguments: shape number (1-based), data (JSON), runAt, meta (JSON),
--     dedupe key ("" none), group key ("" none).
-- Jobs of one type enqueued together share one shape, so a job costs 6 arguments instead of 17.

local SHAPE_FIELDS = 12
local JOB_FIELDS = 6

-- Reads an insert block at `at`; returns the shapes, the job count, the index of the first job's arguments
-- and the index after the block.
local function readInserts(args, at)
  local shapes = {}
  local ns_ = tonumber(args[at])
  for i = 1, ns_ do
    local o = at + 1 + (i - 1) * SHAPE_FIELDS
    local q, n, p = args[o + 1], args[o], args[o + 2]
    shapes[i] = {
      n = n, q = q, p = p, l = args[o + 3], ma = args[o + 4], ms = args[o + 5], t = args[o + 6],
      nowText = args[o + 7], now = tonumber(args[o + 7]), policy = args[o + 8], windowMs = tonumber(args[o + 9]) or 0,
      gc = args[o + 10], gh = args[o + 11], avk = kav(q, n, p), qik = kqi(q),
    }
  end
  local jobsAt = at + 1 + ns_ * SHAPE_FIELDS
  local count = tonumber(args[jobsAt])
  return shapes, count, jobsAt + 1, jobsAt + 1 + count * JOB_FIELDS
end

-- Applies a dedupe policy to the jobs holding `key`; returns outcome, id when it acted on one, else nil.
local function dedupe(key, policy, windowMs, dataJson, metaJson, now)
  local ids = redis.call('ZREVRANGE', kk(key), 0, -1)
  if #ids == 0 then return nil end
  for _, id in ipairs(ids) do
    local v = redis.call('HMGET', kj(id), 's', 'c')
    local s = v[1]
    if s then
      local pending = s == 'scheduled' or s == 'available' or s == 'retryable'
      if policy == 'reject' then
        if pending or s == 'running' then return 'duplicate', id end
      elseif policy == 'throttle' then
        if tonumber(v[2]) > now - windowMs then return 'throttled', id end
      elseif pending then
        if policy == 'replace' then
          redis.call('HSET', kj(id), 'd', dataJson, 'm', metaJson)
          return 'replaced', id
        end
        local J = jmeta(id)
        local runAt = now + windowMs
        local to = 'available'
        if runAt > now then to = 'scheduled' end
        redis.call('HSET', kj(id), 'd', dataJson, 'm', metaJson, 's', to, 'r', ns(runAt))
        J.r = ns(runAt)
        moveIdx(id, J, J.s, to)
        WAKE[J.q] = true
        return 'debounced', id
      end
    end
  end
  return nil
end

-- Inserts the `count` jobs whose arguments start at `at` (see readInserts), in order. Returns one entry per
-- job: for a job inserted, the text "<id> <state> <runAt>" (the caller rebuilds the record from its own
-- params); when the dedupe policy returned an existing job, { outcome, id, state, runAt, record with logs }.
-- When every job was inserted, the entries come as one text instead, a line each; and when no job has a
-- dedupe key (so every one is inserted, with consecutive ids, in its own state and run time), as "=<first id>"
-- only: the caller knows the rest.
-- Ids are taken with one INCRBY; those of jobs a dedupe policy did not insert are skipped.
local function insertJobs(shapes, args, at, count)
  local out = {}
  if count == 0 then return out end
  local keyed = false
  for i = 0, count - 1 do
    if args[at + i * JOB_FIELDS + 4] ~= '' then keyed = true; break end
  end
  local lastId = tonumber(redis.call('INCRBY', K.id, count)) - count
  local firstId = lastId + 1
  local fresh = 0
  local evon = eventsOn()
  local added = {}
  local counts = {}
  -- Adds to the available and queue indexes of fresh ungrouped jobs, written right after the loop: before
  -- the write buffer, whose later changes (a job debounced by a later item) then win, as they must.
  local direct = {}
  local function add(key, score, member)
    local t = direct[key]
    if not t then t = {}; direct[key] = t end
    t[#t + 1] = score
    t[#t + 1] = member
  end
  for i = 0, count - 1 do
    local o = at + i * JOB_FIELDS
    local sh = shapes[tonumber(args[o])]
    local data, runAtText, meta, key, gkey = args[o + 1], args[o + 2], args[o + 3], args[o + 4], args[o + 5]
    local now = sh.now
    local outcome, hitId = nil, nil
    if key ~= '' then outcome, hitId = dedupe(key, sh.policy, sh.windowMs, data, meta, now) end
    if outcome then
      local v = redis.call('HMGET', kj(hitId), 's', 'r')
      out[#out + 1] = { outcome, hitId, v[1], v[2], record(hitId, true) }
    else
      local q = sh.q
      local runAt = tonumber(runAtText)
      if key ~= '' and sh.policy == 'debounce' then runAt = now + sh.windowMs; runAtText = ns(runAt) end
      lastId = lastId + 1
      local id = ns(lastId)
      local state = 'available'
      if runAt > now then state = 'scheduled' end
      local h = { 'n', sh.n, 'q', q, 's', state, 'd', data, 'r', runAtText, 'c', sh.nowText, 'ma', sh.ma, 'ms', sh.ms }
      if sh.p ~= '0' then h[#h + 1] = 'p'; h[#h + 1] = sh.p end
      if sh.l == '1' then h[#h + 1] = 'l'; h[#h + 1] = '1' end
      if sh.t ~= '' then h[#h + 1] = 't'; h[#h + 1] = sh.t end
      if meta ~= '{}' then h[#h + 1] = 'm'; h[#h + 1] = meta end
      if key ~= '' then h[#h + 1] = 'k'; h[#h + 1] = key end
      if gkey ~= '' then
        h[#h + 1] = 'g'; h[#h + 1] = gkey
        if sh.gh == '0' then h[#h + 1] = 'gh'; h[#h + 1] = '0' end
        if sh.gc ~= '1' then h[#h + 1] = 'gc'; h[#h + 1] = sh.gc end
      end
      redis.call('HSET', kj(id), unpack(h))
      if key ~= '' then redis.call('ZADD', kk(key), lastId, id) end
      if gkey == '' and state == 'available' then
        -- The hot path of moveIdx(nil -> available) for an ungrouped job (scores as text: no formatting).
        local score = runAtText
        if sh.l == '1' then score = LIFO_BASE - lastId end
        add(sh.avk, score, enc(id))
        if not added[sh] then
          added[sh] = true
          za(kap(q, sh.n), tonumber(sh.p), sh.p)
        end
        local c = counts[q]
        if not c then c = {}; counts[q] = c end
        c[state] = (c[state] or 0) + 1
      else
        if gkey ~= '' then
          gset(gm(q, gkey), 'c', sh.gc)
          za(kgi(gkey), lastId, id)
        end
        moveIdx(id, { q = q, n = sh.n, p = sh.p, l = sh.l, r = runAtText, g = gkey, gh = sh.gh, gc = sh.gc }, nil, state)
      end
      add(sh.qik, id, id)
      WAKE[q] = true
      if evon then
        local m = hmap(h)
        m.id = id
        emit({ t = 'enqueued', j = m })
      end
      if keyed then out[#out + 1] = id .. ' ' .. state .. ' ' .. runAtText end
      fresh = fresh + 1
    end
  end
  for key, t in pairs(direct) do chunked('ZADD', key, t) end
  for q, c in pairs(counts) do
    for state, n in pairs(c) do hi(kc(q), state, n) end
  end
  for q in pairs(WAKE) do redis.call('SADD', K.queues, q) end
  if not keyed then return '=' .. ns(firstId) end
  -- Only inserted jobs: one text, a line per job (one reply element, however many jobs).
  if fresh == count then return table.concat(out, '\n') end
  return out
end

-- The reply to an insert call sent again (insert.lua, insert1.lua), from its token's value `prev`: when every
-- job was inserted, "=<first id> <count>" (no job had a dedupe key: consecutive ids) or "\n" and a line
-- "<id> <state> <runAt>" per job; otherwise "<outcome> <id>" per job, comma-separated. Each job is returned as
-- it is now, with the outcome of the first call.
local function insertAgain(prev)
  local out = {}
  local function again(outcome, id)
    local v = redis.call('HMGET', kj(id), 's', 'r')
    out[#out + 1] = { outcome, id, v[1] or 'available', v[2] or '0', record(id, true) }
  end
  local first, n = string.match(prev, '^=(%d+) (%d+)$')
  if first then
    for i = 0, tonumber(n) - 1 do again('inserted', ns(tonumber(first) + i)) end
  elseif string.sub(prev, 1, 1) == '\n' then
    for id in string.gmatch(prev, '\n(%d+) ') do again('inserted', id) end
  else
    for outcome, id in string.gmatch(prev, '(%a+) (%d+)') do again(outcome, id) end
  end
  return { '', out }
end

-- @section claim: jobs transitions events phases rates
-- ---------------------------------------------------------------------------------------------------------
-- Staging and claiming

-- Moves due scheduled and retryable jobs of queue `q` to available, at most `cap`; returns how many entries
-- it read and how many jobs it staged.
-- With `first` (a table), reads one entry more, with scores, and sets first[q] to the earliest run time the
-- waiting set holds once the call's staging is applied (false: none), for nextRunAt in the same call.
local function stageQueue(q, now, cap, first)
  local ids
  if first then
    local items = redis.call('ZRANGEBYSCORE', kw(q), '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, cap + 1)
    ids = {}
    local i = 1
    while i < #items and #ids < cap and tonumber(items[i + 1]) <= now do
      ids[#ids + 1] = items[i]
      i = i + 2
    end
    first[q] = i < #items and tonumber(items[i + 1]) or false
  else
    ids = redis.call('ZRANGEBYSCORE', kw(q), '-inf', now, 'LIMIT', 0, cap)
  end
  local staged = 0
  for _, id in ipairs(ids) do
    local J = jmeta(id)
    if J and (J.s == 'scheduled' or J.s == 'retryable') then
      redis.call('HSET', kj(id), 's', 'available')
      moveIdx(id, J, J.s, 'available')
      staged = staged + 1
    else
      zr(kw(q), id)
    end
  end
  return #ids, staged
end

-- The group's claimable jobs whose name is in `nameSet`: available, inside the window, within its free
-- slots and, for names with a group rate limit, within the room left in the group's log.
local function groupPicks(q, g, nameSet, groupRates, now)
  local picks = {}
  local m = gm(q, g)
  local c = tonumber(m.c) or 1
  local free = c - m.r
  if free <= 0 then return picks end
  local room = nil
  local fl = m.flats
  m.flats = nil
  for _, id in ipairs(gwindow(q, g, m, c)) do
    if free <= 0 then break end
    -- The whole hash: a pick's fields are the claim's reply (the lease below reads them again otherwise).
    local flat = fl and fl[id] or redis.call('HGETALL', kj(id))
    local v = {}
    for f = 1, #flat, 2 do
      local name = flat[f]
      if name == 's' then v[1] = flat[f + 1] elseif name == 'n' then v[2] = flat[f + 1]
      elseif name == 'p' then v[3] = flat[f + 1] elseif name == 'r' then v[4] = flat[f + 1] end
    end
    if v[1] == 'available' and nameSet[v[2]] then
      local lim = groupRates and groupRates[v[2]]
      if lim then
        local r2 = rroom('g/' .. q .. '/' .. g, lim[1], lim[2], now) - #picks
        if room == nil or r2 < room then room = r2 end
        if room <= 0 then break end
      end
      picks[#picks + 1] = { id = id, idn = tonumber(id), p = tonumber(v[3] or '0'), r = tonumber(v[4]), q = q, n = v[2], g = g, flat = flat }
      free = free - 1
    end
  end
  return picks
end

local function unique(list)
  if #list < 2 then return list end
  local seen, out = {}, {}
  for _, x in ipairs(list) do
    if not seen[x] then seen[x] = true; out[#out + 1] = x end
  end
  return out
end

-- Stages due jobs of `queues`, then leases up to `limit` available jobs (see Store.jobClaim). Returns, in claim
-- order, one text per claimed job: its id and its hash fields as they were before the claim, separated by
-- NUL bytes (one reply element per job instead of ~30: decoding them dominates a client's cost otherwise).
-- No field holds a NUL: JSON escapes it, names exclude it, and the store refuses keys and owners with one.
local STAGE_CAP = 1000
-- Memos of the lease loop's texts: the token suffix ".<n>" of the n-th job of a call, and an attempt's next
-- value (both kept across calls by the Functions library; an EVALSHA script starts them empty).
local TOKSUF, ANEXT = {}, {}
local function tokSuffix(i)
  local t = '.' .. ns(i)
  TOKSUF[i] = t
  return t
end
local function attemptNext(a)
  local t = ns(tonumber(a) + 1)
  ANEXT[a] = t
  return t
end
local function claimJobs(queues, names, owner, limit, leaseMs, now, nonce)
  local claimed = {}
  queues = unique(queues)
  if limit <= 0 or #names == 0 or #queues == 0 then return claimed end
  WFIRST = {}
  for _, q in ipairs(queues) do stageQueue(q, now, STAGE_CAP, WFIRST) end
  flushPhase(true)
  local nameSet = {}
  for _, n in ipairs(names) do nameSet[n] = true end
  -- Limits: read only when the store has any (one EXISTS otherwise).
  local budgets, queueRoom, groupRates, typeRated = nil, nil, nil, nil
  if redis.call('EXISTS', K.limits) == 1 then
    local fields = {}
    for _, n in ipairs(names) do
      fields[#fields + 1] = 'm/' .. n; fields[#fields + 1] = 'r/' .. n; fields[#fields + 1] = 'g/' .. n
    end
    for _, q in ipairs(queues) do fields[#fields + 1] = 'q/' .. q end
    local v = redis.call('HMGET', K.limits, unpack(fields))
    for i, n in ipairs(names) do
      local max, rate, grate = v[3 * i - 2], rlimit(v[3 * i - 1]), rlimit(v[3 * i])
      if max or rate then
        budgets = budgets or {}
        local left = math.huge
        if max then
          left = tonumber(max) - (tonumber(redis.call('HGET', K.nrun, n)) or 0)
        end
        if rate then
          typeRated = typeRated or {}
          typeRated[n] = true
          left = math.min(left, rroom('t/' .. n, rate[1], rate[2], now))
        end
        budgets[n] = left
        if left <= 0 then nameSet[n] = nil end
      end
      if grate then
        groupRates = groupRates or {}
        groupRates[n] = grate
      end
    end
    for i, q in ipairs(queues) do
      local lim = rlimit(v[3 * #names + i])
      if lim then
        queueRoom = queueRoom or {}
        queueRoom[q] = rroom('q/' .. q, lim[1], lim[2], now)
      end
    end
  end
  local openQueues = {}
  local pausedFlags = redis.call('SMISMEMBER', K.paused, unpack(queues))
  for i, q in ipairs(queues) do
    if pausedFlags[i] == 0 and not (queueRoom and queueRoom[q] and queueRoom[q] <= 0) then
      openQueues[#openQueues + 1] = q
    end
  end
  local liveNames = {}
  for _, n in ipairs(names) do if nameSet[n] then liveNames[#liveNames + 1] = n end end
  if #liveNames == 0 or #openQueues == 0 then
    rwrite(now)
    return claimed
  end
  -- The commonest claim (one queue, one job type, one priority, no ready group, no limit): pop the first
  -- `limit` jobs of the claim set at once (ZPOPMIN: claim order is its order).
  local chosen, served, servedOrder, popped = nil, {}, {}, {}
  if budgets == nil and queueRoom == nil and #openQueues == 1 and #liveNames == 1 then
    local q, n = openQueues[1], liveNames[1]
    if redis.call('EXISTS', kgrp(q)) == 0 then
      local apk = kap(q, n)
      local prios = redis.call('ZRANGE', apk, 0, 1)
      if #prios == 1 then
        local avk = kav(q, n, prios[1])
        local items = redis.call('ZPOPMIN', avk, limit)
        -- Fewer than asked: the set is empty now.
        if #items < 2 * limit then redis.call('ZREM', apk, prios[1]) end
        chosen = {}
        for i = 1, #items, 2 do
          local m = items[i]
          chosen[#chosen + 1] = { id = dec(m), q = q, n = n, avk = avk, m = m, popped = true }
        end
      elseif #prios == 0 then
        -- No available job of that type and no ready group: nothing to claim.
        chosen = {}
      end
    end
  end
  if chosen == nil then
    -- Ungrouped candidates: the first `limit` of each (queue, name), priority by priority.
    local cands = {}
    local streams = 0
    for _, q in ipairs(openQueues) do
      for _, n in ipairs(liveNames) do
        local apk = kap(q, n)
        local prios = redis.call('ZRANGE', apk, 0, -1)
        local got = 0
        for _, p in ipairs(prios) do
          local avk = kav(q, n, p)
          local items = redis.call('ZRANGE', avk, 0, limit - got - 1, 'WITHSCORES')
          if #items == 0 then
            redis.call('ZREM', apk, p)
          else
            local pn = tonumber(p)
            for i = 1, #items, 2 do
              local m = items[i]
              local id = dec(m)
              cands[#cands + 1] = {
                id = id, idn = tonumber(id), p = pn, s = tonumber(items[i + 1]), q = q, n = n, avk = avk, m = m,
              }
            end
            got = got + #items / 2
            streams = streams + 1
            if got >= limit then break end
          end
        end
      end
    end
    if streams > 1 then
      table.sort(cands, function(a, b)
        if a.p ~= b.p then return a.p < b.p end
        if a.s ~= b.s then return a.s < b.s end
        return a.idn < b.idn
      end)
    end
    -- Grouped candidates: ready groups by (head priority, least recently served).
    local gcands = {}
    for _, q in ipairs(openQueues) do
      local gprios = redis.call('ZRANGE', kgrp(q), 0, -1)
      local taken, skips = 0, 4 * limit + 16
      for _, gp in ipairs(gprios) do
        if taken >= limit or skips < 0 then break end
        local grk = kgr(q, gp)
        local gpn = tonumber(gp)
        -- The set in order (score, then member bytes): as stored, read in chunks, merged with this call's
        -- pending changes (readyChanges): stored members they change are skipped, their adds come in order.
        local pend = readyChanges()[grk]
        local adds, ai = nil, 1
        if pend then
          adds = {}
          for g, sv in pairs(pend) do
            if sv then adds[#adds + 1] = { g = g, s = tonumber(sv) } end
          end
          table.sort(adds, function(a, b)
            if a.s ~= b.s then return a.s < b.s end
            return bytesBefore(a.g, b.g)
          end)
        end
        local gs, gi, start, stored = nil, 1, 0, true
        local any = false
        while taken < limit and skips >= 0 do
          local rg, rs = nil, nil
          while stored do
            if gs == nil or gi > #gs then
              local chunk = math.max(16, limit - taken)
              gs = redis.call('ZRANGE', grk, start, start + chunk - 1, 'WITHSCORES')
              gi = 1
              start = start + chunk
              if #gs == 0 then stored = false; break end
            end
            local sg = gs[gi]
            if pend == nil or pend[sg] == nil then rg, rs = sg, tonumber(gs[gi + 1]); break end
            gi = gi + 2
          end
          local a = adds and adds[ai]
          local g, sv
          if a and (rg == nil or a.s < rs or (a.s == rs and bytesBefore(a.g, rg))) then
            g, sv = a.g, a.s
            ai = ai + 1
          elseif rg ~= nil then
            g, sv = rg, rs
            gi = gi + 2
          else
            break
          end
          any = true
          popped[#popped + 1] = { q, g }
          local picks = groupPicks(q, g, nameSet, groupRates, now)
          for _, pk in ipairs(picks) do
            pk.gp = gpn
            pk.sv = sv
            gcands[#gcands + 1] = pk
            taken = taken + 1
          end
          if #picks == 0 then skips = skips - 1 end
        end
        if not any and not stored and (adds == nil or ai > #adds) then
          -- The set is empty.
          redis.call('ZREM', kgrp(q), gp)
          GRP[q .. '/' .. gp] = nil
        end
      end
    end
    if #popped > 1 then
      local function before(a, b)
        if a.gp ~= b.gp then return a.gp < b.gp end
        if a.sv ~= b.sv then return a.sv < b.sv end
        return a.idn < b.idn
      end
      -- Usually already in order (one queue, groups served at different times): a total order, so sorting
      -- only when out of order gives the same result.
      for i = 2, #gcands do
        if before(gcands[i], gcands[i - 1]) then table.sort(gcands, before); break end
      end
    end
    -- Merge: grouped and ungrouped by priority, then run time, then id; limits of name and queue apply.
    local function blocked(c)
      if budgets and budgets[c.n] ~= nil and budgets[c.n] <= 0 then return true end
      if queueRoom and queueRoom[c.q] ~= nil and queueRoom[c.q] <= 0 then return true end
      return false
    end
    local function runAtOf(u)
      if u.s >= LIFO_CUT then return u.s end
      return tonumber(redis.call('HGET', kj(u.id), 'r'))
    end
    chosen = {}
    local ui, gi = 1, 1
    while #chosen < limit do
      while ui <= #cands and blocked(cands[ui]) do ui = ui + 1 end
      while gi <= #gcands and blocked(gcands[gi]) do gi = gi + 1 end
      local u, gc = cands[ui], gcands[gi]
      local pick = nil
      if gc then
        local first = (u == nil)
        if not first then
          if gc.p ~= u.p then
            first = gc.p < u.p
          else
            local ur = runAtOf(u)
            if gc.r ~= ur then first = gc.r < ur else first = gc.idn < u.idn end
          end
        end
        if first then
          pick = gc
          gi = gi + 1
          local sk = gc.q .. '/' .. gc.g
          if not served[sk] then
            served[sk] = true
            servedOrder[#servedOrder + 1] = { gc.q, gc.g }
          end
          if groupRates and groupRates[gc.n] then rtake('g/' .. gc.q .. '/' .. gc.g) end
        end
      end
      if pick == nil then
        if u == nil then break end
        pick = u
        ui = ui + 1
      end
      if budgets and budgets[pick.n] ~= nil then budgets[pick.n] = budgets[pick.n] - 1 end
      if queueRoom and queueRoom[pick.q] ~= nil then
        queueRoom[pick.q] = queueRoom[pick.q] - 1
        rtake('q/' .. pick.q)
      end
      if typeRated and typeRated[pick.n] then rtake('t/' .. pick.n) end
      chosen[#chosen + 1] = pick
    end
  end
  -- Lease the chosen jobs. The reply holds each job's fields as they were before the claim: the caller
  -- applies the claim's own (state, attempt + 1, attemptedAt, owner, token "<nonce>.<n>", expiry).
  -- (Nothing chosen: no texts, no tables, no events flag to read.)
  if #chosen > 0 then
    local le = now + leaseMs
    local nowText, leText = ns(now), ns(le)
    local evon = eventsOn()
    local moved = {}
    local runs = {}
    for i, c in ipairs(chosen) do
      local id = c.id
      local jk = kj(id)
      local flat = c.flat or redis.call('HGETALL', jk)
      local a, cr = nil, nil
      for f = 1, #flat, 2 do
        local name = flat[f]
        if name == 'a' then a = flat[f + 1] elseif name == 'cr' then cr = flat[f + 1] end
      end
      local tok = nonce .. (TOKSUF[i] or tokSuffix(i))
      local aText = ANEXT[a or '0'] or attemptNext(a or '0')
      if cr == '1' then
        redis.call(
          'HSET', jk, 's', 'running', 'a', aText, 'at', nowText, 'lo', owner, 'lt', tok, 'le', leText, 'cr', ''
        )
      else
        redis.call('HSET', jk, 's', 'running', 'a', aText, 'at', nowText, 'lo', owner, 'lt', tok, 'le', leText)
      end
      -- The hot path of moveIdx(available -> running), with the keys the candidate carries (scores as text).
      -- A grouped job stays in its group's occupying set; its group is re-placed below (it was popped).
      local g = c.g
      if g then
        local m = gm(c.q, g)
        m.flats = nil
        gset(m, 'r', m.r + 1)
        za(K.running, leText, enc(id))
      else
        if not c.popped then zr(c.avk, c.m) end
        za(K.running, leText, c.m)
      end
      moved[c.q] = (moved[c.q] or 0) + 1
      runs[c.n] = (runs[c.n] or 0) + 1
      claimed[#claimed + 1] = id .. '\0' .. table.concat(flat, '\0')
      if evon then
        local m = hmap(flat)
        m.s = 'running'; m.a = aText; m.at = nowText; m.lo = owner; m.lt = tok; m.le = leText; m.cr = ''; m.id = id
        emit({ t = 'started', j = m, w = owner })
      end
    end
    for q, n in pairs(moved) do
      hi(kc(q), 'available', -n)
      hi(kc(q), 'running', n)
    end
    for name, n in pairs(runs) do hi(K.nrun, name, n) end
  end
  -- Served groups take the next claim sequence numbers, in claim order (one INCRBY for all of them).
  if #servedOrder > 0 then
    local sv = redis.call('INCRBY', K.gseq, #servedOrder) - #servedOrder
    for _, sg in ipairs(servedOrder) do
      sv = sv + 1
      gset(gm(sg[1], sg[2]), 'sv', sv)
    end
  end
  local seenPop = {}
  for _, pg in ipairs(popped) do
    local pk = pg[1] .. '/' .. pg[2]
    if not seenPop[pk] then
      seenPop[pk] = true
      refreshGroup(pg[1], pg[2], true)
    end
  end
  rwrite(now)
  return claimed
end

-- The claim `queues` where a claim of `limit` will likely reach every group touched so far (few enough ready
-- groups as stored): a refresh before it reads their claimable jobs' hashes whole, once for both. Only a
-- matter of cost: with many ready groups, the touched ones (the most recently served) come last.
local function groupPrefetch(queues, limit)
  if next(TOUCHED) == nil then return nil end
  local touched = {}
  for _, t in pairs(TOUCHED) do touched[t.q] = (touched[t.q] or 0) + 1 end
  local out = nil
  for _, q in ipairs(queues) do
    local n = touched[q]
    if n and n <= limit then
      for _, p in ipairs(redis.call('ZRANGE', kgrp(q), 0, -1)) do
        n = n + redis.call('ZCARD', kgr(q, p))
        if n > limit then break end
      end
      if n <= limit then
        out = out or {}
        out[q] = true
      end
    end
  end
  return out
end

-- Reads claim params from `args` starting at `at`: nQueues, queues..., nNames, names..., owner, limit,
-- leaseMs, nonce. Returns the params and the index after them.
local function readClaim(args, at)
  local nq = tonumber(args[at])
  local queues = {}
  for i = 1, nq do queues[i] = args[at + i] end
  at = at + nq + 1
  local nn = tonumber(args[at])
  local names = {}
  for i = 1, nn do names[i] = args[at + i] end
  at = at + nn + 1
  return {
    queues = queues, names = names, owner = args[at], limit = tonumber(args[at + 1]),
    leaseMs = tonumber(args[at + 2]), nonce = args[at + 3],
  }, at + 4
end

-- @section nextrun
-- When a worker of `queues` and `names` (sets: name -> true) should look again (see Store.jobNextRunAt): the
-- earliest runAt of their scheduled or retryable jobs and, when `now` (text) is given, the earliest time after
-- `now` at which a full rate limit that applies to them frees. Returns a number, or nil.
local function nextRunAt(queues, names, now)
  local next = nil
  for q in pairs(queues) do
    -- The claim of this call read the set already (staging: nothing after it writes waiting sets).
    local t = WFIRST and WFIRST[q]
    if t == nil then
      local first = redis.call('ZRANGE', kw(q), 0, 0, 'WITHSCORES')
      t = #first > 0 and tonumber(first[2]) or false
    end
    if t and (next == nil or t < next) then next = t end
  end
  if now ~= nil then
    local items = redis.call('ZRANGEBYSCORE', K.rlf, '(' .. now, '+inf', 'WITHSCORES')
    for i = 1, #items, 2 do
      local key, t = items[i], tonumber(items[i + 1])
      if next ~= nil and t >= next then break end
      local kind, rest = string.match(key, '^(%a)/(.*)$')
      local applies = false
      if kind == 't' then
        applies = names[rest] == true
      elseif kind == 'q' then
        applies = queues[rest] == true
      elseif kind == 'g' then
        applies = queues[string.match(rest, '^([^/]*)/')] == true
      end
      if applies then next = t; break end
    end
  end
  return next
end
