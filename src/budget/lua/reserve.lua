-- Reserve: check every bucket that applies to a request and debit all of them, or none.
-- KEYS[1] reservation record, KEYS[2] the org's lease set, KEYS[3..] one key per bucket.
-- ARGV[1] id, [2] nowMs, [3] deadlineMs, [4] recordRetentionMs, [5] promptTokens,
--     [6] promptCostNumerator, [7] outputPerMTokMicros, [8] maxOutputTokens, [9] minOutputTokens,
--     then 7 per bucket: spec, limit, ttlMs, warnAt, criticalAt, periodMs, label.
-- spec is four characters: kind (c counter, g gcra), measure (t tokens, c cost micros, r requests,
-- f in flight), clamp (1/0), sliding expiry (1/0).
-- Returns {status, outputTokens, remaining1, wait1, ...}: status 1 reserved, 0 denied, 2 replayed
-- (this id was reserved before: nothing is debited twice, and no per-bucket figures follow).
-- Every number written goes through int(): Lua would format large numbers in exponent form.
local function int(n)
  if n == 0 then return '0' end -- never '-0', which Redis rejects as an integer
  return string.format('%.0f', n)
end

-- ceil(a / b) for non-negative integers, exact where a / b in doubles could round the wrong way.
local function ceilDiv(a, b)
  local q = math.floor(a / b)
  if q * b < a then q = q + 1 end
  if q > 0 and (q - 1) * b >= a then q = q - 1 end
  return q
end

local rec = KEYS[1]
local replayed = redis.call('HGET', rec, 'o')
if replayed then return {2, tonumber(replayed)} end

local nowMs = tonumber(ARGV[2])
local nowUs = nowMs * 1000
local deadlineMs = tonumber(ARGV[3])
local prompt = tonumber(ARGV[5])
local promptCost = tonumber(ARGV[6])
local outPrice = tonumber(ARGV[7])
local requested = tonumber(ARGV[8])
local minOut = tonumber(ARGV[9])
local n = #KEYS - 2

local function amountFor(measure, out)
  if measure == 't' then return prompt + out end
  if measure == 'c' then return ceilDiv(promptCost + out * outPrice, 1000000) end
  return 1
end

-- Read every bucket once.
local spec, limit, used, reserved, isNew, tat = {}, {}, {}, {}, {}, {}
for i = 1, n do
  local a = 9 + (i - 1) * 7
  spec[i] = ARGV[a + 1]
  limit[i] = tonumber(ARGV[a + 2])
  if spec[i]:sub(1, 1) == 'c' then
    local state = redis.call('HMGET', KEYS[i + 2], 'u', 'r')
    used[i] = tonumber(state[1] or '0')
    reserved[i] = tonumber(state[2] or '0')
    isNew[i] = state[1] == false and state[2] == false
  else
    tat[i] = math.max(tonumber(redis.call('GET', KEYS[i + 2]) or '0'), nowUs)
  end
end

-- Clamp: the output tokens every clamping budget can still afford, never below minOut.
local out = requested
for i = 1, n do
  local s = spec[i]
  if s:sub(1, 1) == 'c' and s:sub(3, 3) == '1' then
    local left = limit[i] - used[i] - reserved[i]
    local measure = s:sub(2, 2)
    if measure == 't' then
      out = math.min(out, left - prompt)
    elseif measure == 'c' and outPrice > 0 then
      out = math.min(out, math.floor((left * 1000000 - promptCost) / outPrice))
    end
  end
end
out = math.min(requested, math.max(out, minOut))

-- Check every bucket at that output; any negative remainder refuses the whole request.
local result = {1, out}
local amount, newTat = {}, {}
local denied = false
for i = 1, n do
  local s = spec[i]
  local units = amountFor(s:sub(2, 2), out)
  amount[i] = units
  local remaining, wait
  if s:sub(1, 1) == 'c' then
    remaining = limit[i] - used[i] - reserved[i] - units
    wait = 0
  else
    local periodUs = tonumber(ARGV[9 + (i - 1) * 7 + 6]) * 1000
    newTat[i] = tat[i] + ceilDiv(units * periodUs, limit[i])
    local over = newTat[i] - nowUs - periodUs
    remaining = math.floor(-over * limit[i] / periodUs)
    if over > 0 then
      if units > limit[i] then wait = -1 else wait = ceilDiv(over, 1000) end
    else
      wait = ceilDiv(newTat[i] - nowUs, 1000)
    end
  end
  if remaining < 0 then denied = true end
  result[#result + 1] = remaining
  result[#result + 1] = wait
end
if denied then
  result[1] = 0
  return result
end

-- Debit, and record exactly what was debited so settle and the reaper undo exactly that.
local entries = {}
for i = 1, n do
  local a = 9 + (i - 1) * 7
  local key = KEYS[i + 2]
  local ttlMs = tonumber(ARGV[a + 3])
  local expireAtMs = 0
  if spec[i]:sub(1, 1) == 'c' then
    redis.call('HINCRBY', key, 'r', int(amount[i]))
    if ttlMs > 0 then
      expireAtMs = nowMs + ttlMs
      if isNew[i] or spec[i]:sub(4, 4) == '1' then redis.call('PEXPIRE', key, int(ttlMs)) end
    end
  else
    redis.call('SET', key, int(newTat[i]), 'PX', int(math.max(1, ceilDiv(newTat[i] - nowUs, 1000))))
  end
  entries[i] = {spec[i], key, int(amount[i]), ARGV[a + 2], ARGV[a + 4], ARGV[a + 5], int(expireAtMs), ARGV[a + 6], ARGV[a + 7]}
end
redis.call('HSET', rec, 's', 'o', 'd', ARGV[3], 'o', int(out), 'b', cjson.encode(entries))
redis.call('PEXPIRE', rec, int(deadlineMs - nowMs + tonumber(ARGV[4])))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return result
