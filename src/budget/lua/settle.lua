-- Settle: move a reservation from reserved to actual usage on exactly the buckets its record
-- names, report threshold crossings once per bucket and window, and append the usage event to the
-- org's stream, all in one step. Idempotent by reservation id.
-- KEYS[1] reservation record, KEYS[2] the org's lease set, KEYS[3] the org's usage stream.
-- ARGV[1] id, [2] nowMs, [3] actualTokens, [4] actualCostMicros, [5] usage event JSON,
--     [6] recordRetentionMs.
-- The bucket keys come from the record; they share the record's {org} hash tag, hence its slot.
-- Returns {status, label, level, used, limit, key, ...}: status 1 settled, 3 late (the reaper had
-- returned the reservation: only actual usage is charged), 2 duplicate, 0 unknown (no record:
-- only the event is appended, the ledger dedupes by request id). Levels: 1 warning, 2 critical,
-- 3 exceeded. The stream is never trimmed here: the flusher trims what it has acknowledged.
local function int(n)
  if n == 0 then return '0' end -- never '-0', which Redis rejects as an integer
  return string.format('%.0f', n)
end

local function ceilDiv(a, b)
  local q = math.floor(a / b)
  if q * b < a then q = q + 1 end
  if q > 0 and (q - 1) * b >= a then q = q - 1 end
  return q
end

local rec = KEYS[1]
local state = redis.call('HGET', rec, 's')
if state == 's' then return {2} end
if not state then
  redis.call('XADD', KEYS[3], '*', 'e', ARGV[5])
  return {0}
end

local open = state == 'o'
local nowMs = tonumber(ARGV[2])
local actualTokens = tonumber(ARGV[3])
local actualCost = tonumber(ARGV[4])
local result = {open and 1 or 3}

local function actualFor(measure)
  if measure == 't' then return actualTokens end
  if measure == 'c' then return actualCost end
  if measure == 'r' then return 1 end
  return 0 -- in flight: the request is over
end

for _, b in ipairs(cjson.decode(redis.call('HGET', rec, 'b'))) do
  local spec, key, amount, limit = b[1], b[2], tonumber(b[3]), tonumber(b[4])
  local measure = spec:sub(2, 2)
  if spec:sub(1, 1) == 'c' then
    local exists = redis.call('EXISTS', key) == 1
    -- A missing key means the window expired (or Redis lost it): never create a negative reservation.
    if open and exists and amount > 0 and redis.call('HINCRBY', key, 'r', int(-amount)) < 0 then
      redis.call('HSET', key, 'r', 0)
    end
    local actual = actualFor(measure)
    local expireAtMs = tonumber(b[7])
    if actual > 0 and (exists or expireAtMs == 0 or expireAtMs > nowMs) then
      local used = redis.call('HINCRBY', key, 'u', int(actual))
      if not exists and expireAtMs > 0 then redis.call('PEXPIRE', key, int(expireAtMs - nowMs)) end
      local level = 0
      if used >= limit then level = 3
      elseif used >= tonumber(b[6]) then level = 2
      elseif used >= tonumber(b[5]) then level = 1 end
      if level > tonumber(redis.call('HGET', key, 'x') or '0') then
        redis.call('HSET', key, 'x', level)
        result[#result + 1] = b[9]
        result[#result + 1] = level
        result[#result + 1] = used
        result[#result + 1] = limit
        result[#result + 1] = key
      end
    end
  elseif measure == 't' then
    -- A token rate gives back what was reserved but not produced.
    local refund = amount - actualTokens
    local tat = redis.call('GET', key)
    if refund > 0 and tat then
      redis.call('SET', key, int(tonumber(tat) - ceilDiv(refund * tonumber(b[8]) * 1000, limit)), 'KEEPTTL')
    end
  end
end

redis.call('ZREM', KEYS[2], ARGV[1])
-- Keep only the state: enough to answer a retried settle with 'duplicate'.
redis.call('HDEL', rec, 'b', 'd', 'o')
redis.call('HSET', rec, 's', 's')
redis.call('PEXPIRE', rec, ARGV[6])
redis.call('XADD', KEYS[3], '*', 'e', ARGV[5])
return result
