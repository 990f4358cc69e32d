-- insert1.lua: jobInsert of one job without a dedupe key or a group (the common single enqueue). The same
-- effect, reply and call token as insert.lua given that one job, without its batch machinery (shapes, write
-- buffer, per-call tables): a single enqueue is most of its cost in Lua, not in commands.
-- @keys id queues events evon s:scheduled
-- @uses insert
-- KEYS[1]: the prefix tag `{p}`; then the keys named by @keys, in order; last: {p}:tok:<call token>.
-- ARGV[1] origin; ARGV[2] token TTL (ms); ARGV[3...] name, queue, priority, lifo (1/0), maxAttempts,
-- maxStalls, timeoutMs ("" null), now, data (JSON), runAt, meta (JSON).
-- Returns { wakes, "<id> <state> <runAt>" }: insert.lua's reply when every job was inserted (a re-sent call:
-- its reply for a call seen before, from insertAgain).
local tokenKey = KEYS[#KEYS]
local prev = redis.call('GET', tokenKey)
if prev then return insertAgain(prev) end
local n, q, p, l = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local nowText, data, runAtText, meta = ARGV[10], ARGV[11], ARGV[12], ARGV[13]
local idn = redis.call('INCRBY', K.id, 1)
local id = ns(idn)
local state = 'available'
if tonumber(runAtText) > tonumber(nowText) then state = 'scheduled' end
local h = { 'n', n, 'q', q, 's', state, 'd', data, 'r', runAtText, 'c', nowText, 'ma', ARGV[7], 'ms', ARGV[8] }
if p ~= '0' then h[#h + 1] = 'p'; h[#h + 1] = p end
if l == '1' then h[#h + 1] = 'l'; h[#h + 1] = '1' end
if ARGV[9] ~= '' then h[#h + 1] = 't'; h[#h + 1] = ARGV[9] end
if meta ~= '{}' then h[#h + 1] = 'm'; h[#h + 1] = meta end
redis.call('HSET', kj(id), unpack(h))
if state == 'available' then
  -- moveIdx(nil -> available) of an ungrouped job, written directly (scores as text: no number formatting).
  local score = runAtText
  if l == '1' then score = LIFO_BASE - idn end
  redis.call('ZADD', kav(q, n, p), score, enc(id))
  redis.call('ZADD', kap(q, n), p, p)
  redis.call('HINCRBY', kc(q), 'available', 1)
else
  moveIdx(id, { q = q, n = n, p = p, l = l, r = runAtText, g = '' }, nil, state)
end
redis.call('ZADD', kqi(q), id, id)
redis.call('SADD', K.queues, q)
WAKE[q] = true
if eventsOn() then
  local m = hmap(h)
  m.id = id
  emit({ t = 'enqueued', j = m })
end
local line = id .. ' ' .. state .. ' ' .. runAtText
redis.call('SET', tokenKey, '\n' .. line, 'PX', ARGV[2])
return done(line)
