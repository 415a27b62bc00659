-- Measures one org's usage stream, trims what every consumer group has acknowledged, and drops
-- consumers of our group that hold nothing and have been idle (dead replicas), all atomically
-- so no read can slip in between looking and trimming.
-- KEYS[1] stream; ARGV[1] our group; ARGV[2] '1' to trim; ARGV[3] idle ms before pruning a consumer
-- Returns { length, oldest id our group has not acknowledged (or false), Redis time in ms }.
local key, ours = KEYS[1], ARGV[1]

local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end

local function fields(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if redis.call('EXISTS', key) == 0 then return { 0, false, now } end

local oldest = false
local trimTo = nil
local ourGroupExists = false
for _, raw in ipairs(redis.call('XINFO', 'GROUPS', key)) do
  local group = fields(raw)
  local pending = redis.call('XPENDING', key, group['name'])
  -- Entries can only become pending by delivery past last-delivered-id, so everything before
  -- the first pending entry (or up to last-delivered-id when none is pending) is acknowledged.
  local safe = pending[1] > 0 and pending[2] or group['last-delivered-id']
  if trimTo == nil or less(safe, trimTo) then trimTo = safe end
  if group['name'] == ours then
    ourGroupExists = true
    if pending[1] > 0 then
      oldest = pending[2]
    else
      local nextEntry = redis.call('XRANGE', key, '(' .. group['last-delivered-id'], '+', 'COUNT', 1)
      if #nextEntry > 0 then oldest = nextEntry[1][1] end
    end
    -- Safe even for a live consumer: one with nothing pending is recreated by its next read.
    for _, rawConsumer in ipairs(redis.call('XINFO', 'CONSUMERS', key, ours)) do
      local consumer = fields(rawConsumer)
      if consumer['pending'] == 0 and consumer['idle'] > tonumber(ARGV[3]) then
        redis.call('XGROUP', 'DELCONSUMER', key, ours, consumer['name'])
      end
    end
  end
end

if not ourGroupExists then
  local first = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)
  if #first > 0 then oldest = first[1][1] end
end
-- No group yet means nobody has read anything: keep every entry.
if ARGV[2] == '1' and trimTo ~= nil then redis.call('XTRIM', key, 'MINID', '~', trimTo) end
return { redis.call('XLEN', key), oldest, now }
