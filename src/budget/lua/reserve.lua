-- Reserve: check every bucket that applies to a request and debit all of them, or none.
-- KEYS[1] reservation record, KEYS[2] the org's lease set, KEYS[3] the org's epoch, then one key
--     per bucket in ARGV[10]'s order (every key is declared, as Redis Cluster and servers that
--     check key access require; all carry the record's {org} hash tag, hence its slot).
-- ARGV[1] id, [2] nowMs, [3] deadlineMs, [4] recordRetentionMs, [5] promptTokens,
--     [6] promptCostNumerator, [7] outputPerMTokMicros, [8] maxOutputTokens, [9] minOutputTokens,
--     [10] the buckets, one line each, every line starting with "\n":
--     "spec limit ttlMs periodMs warnAt criticalAt". spec is four characters: kind (c counter,
--     g gcra), measure (t tokens, c cost micros, r requests, f in flight), clamp (1/0), sliding
--     expiry (1/0). The record keeps each line with its key appended, so settle and the reaper
--     (which read the record to learn which keys to declare) adjust exactly what reserve debited.
--     [11] per bucket, space-separated: when the ledger could rebuild it from (its window's start),
--     or '-' when it cannot.
-- Returns {status, outputTokens, then per bucket: remaining, wait, amount}. status 1 reserved,
-- 0 denied, 2 replayed: this id was reserved before, nothing is debited twice, and the amounts are
-- those of the stored output tokens. Status 4 {4, 0, bucket indexes from 1}: those counters were
-- lost; nothing is debited until restore.lua rebuilds them from the ledger. remaining < 0 means the bucket refused. wait (GCRA only): ms
-- until full again, or until the request fits when refused, -1 if it never fits.
--
-- The record is one string: "o out deadlineMs nowMs promptTokens promptCostNumerator
-- outputPerMTokMicros" followed by the bucket lines with their keys; settle.lua and reap.lua derive each bucket's amount
-- from it (amounts are a function of the output tokens). Redis calls cost more than Lua work here,
-- so the record is one SET with PX, and a bucket costs two calls (read, debit).

local rec = KEYS[1]
local nowMs = tonumber(ARGV[2])
local nowUs = nowMs * 1000
local prompt = tonumber(ARGV[5])
local promptCost = tonumber(ARGV[6])
local outPrice = tonumber(ARGV[7])
local requested = tonumber(ARGV[8])

local function amountFor(measure, out)
  return reservedAmount(measure, prompt, out, promptCost, outPrice)
end

local keys, counter, measure, clamp, sliding, limit, ttlMs, periodUs = {}, {}, {}, {}, {}, {}, {}, {}
local n = 0
-- [^ ] rather than %d: Lua's pattern matcher is slow per character, and this is most of the parse.
local lines = {}
for line, kind, m, c, s, lim, ttl, period in string.gmatch(ARGV[10], '(\n(.)(.)(.)(.) ([^ ]+) ([^ ]+) ([^ ]+) [^ \n]+ [^ \n]+)') do
  n = n + 1
  keys[n] = KEYS[3 + n]
  lines[n] = line .. ' ' .. keys[n]
  counter[n] = kind == 'c'
  measure[n] = m
  clamp[n] = c == '1'
  sliding[n] = s == '1'
  limit[n] = tonumber(lim)
  ttlMs[n] = ttl
  periodUs[n] = period
end

local replayed = redis.call('GET', rec)
if replayed then
  -- A retried reserve (its reply was lost): answer as before, whatever happened since.
  local out = tonumber(string.match(replayed, '^. (%d+)'))
  local result = {2, out}
  for i = 1, n do
    result[#result + 1] = 0
    result[#result + 1] = 0
    result[#result + 1] = amountFor(measure[i], out)
  end
  return result
end

-- Read every bucket once.
local left, isNew, tat = {}, {}, {}
local anyNew = false
for i = 1, n do
  if counter[i] then
    local state = redis.call('HMGET', keys[i], 'u', 'r')
    isNew[i] = not state[1] and not state[2]
    anyNew = anyNew or isNew[i]
    left[i] = limit[i] - tonumber(state[1] or 0) - tonumber(state[2] or 0)
  else
    tat[i] = math.max(tonumber(redis.call('GET', keys[i]) or 0), nowUs)
    periodUs[i] = tonumber(periodUs[i]) * 1000
  end
end

-- The epoch is when this org's counters started living here. A counter missing from a window that
-- began no later than that was lost (Redis restarted empty, a failover), not unused: rebuild it.
-- (A budget added mid-window is rebuilt too, so it counts the usage its window already holds.)
-- Only a missing counter needs the check, and in steady state every counter exists.
if anyNew then
  local epoch = tonumber(redis.call('GET', KEYS[3]))
  if not epoch then
    redis.call('SET', KEYS[3], ARGV[2])
    epoch = nowMs
  end
  local lost = {4, 0}
  local b = 0
  for from in string.gmatch(ARGV[11], '[^ ]+') do
    b = b + 1
    if isNew[b] and from ~= '-' and tonumber(from) <= epoch then lost[#lost + 1] = b end
  end
  if #lost > 2 then return lost end
end

-- Clamp: the output tokens every clamping budget can still afford, never below minOutputTokens.
local out = requested
for i = 1, n do
  if counter[i] and clamp[i] then
    if measure[i] == 't' then
      out = math.min(out, left[i] - prompt)
    elseif measure[i] == 'c' and outPrice > 0 then
      out = math.min(out, math.floor((left[i] * 1000000 - promptCost) / outPrice))
    end
  end
end
out = math.min(requested, math.max(out, tonumber(ARGV[9])))

-- Check every bucket at that output; any negative remainder refuses the whole request.
local result = {1, out}
local amount, newTat = {}, {}
local denied = false
for i = 1, n do
  local units = amountFor(measure[i], out)
  amount[i] = units
  local remaining, wait = 0, 0
  if counter[i] then
    remaining = left[i] - units
  else
    newTat[i] = tat[i] + ceilDiv(units * periodUs[i], limit[i])
    local over = newTat[i] - nowUs - periodUs[i]
    remaining = math.floor(-over * limit[i] / periodUs[i])
    if over <= 0 then wait = ceilDiv(newTat[i] - nowUs, 1000)
    elseif units > limit[i] then wait = -1
    else wait = ceilDiv(over, 1000) end
  end
  if remaining < 0 then denied = true end
  result[#result + 1] = remaining
  result[#result + 1] = wait
  result[#result + 1] = units
end
if denied then
  result[1] = 0
  return result
end

-- Amounts depend only on the measure: format each once.
local amountS = {}
for i = 1, n do
  if counter[i] then
    local m = measure[i]
    local units = amountS[m]
    if not units then
      units = int(amount[i])
      amountS[m] = units
    end
    redis.call('HINCRBY', keys[i], 'r', units)
    if ttlMs[i] ~= '0' and (isNew[i] or sliding[i]) then redis.call('PEXPIRE', keys[i], ttlMs[i]) end
  else
    redis.call('SET', keys[i], int(newTat[i]), 'PX', int(math.max(1, ceilDiv(newTat[i] - nowUs, 1000))))
  end
end
redis.call('SET', rec, 'o ' .. int(out) .. ' ' .. ARGV[3] .. ' ' .. ARGV[2] .. ' ' .. ARGV[5] .. ' ' .. ARGV[6] .. ' ' .. ARGV[7] .. table.concat(lines),
  'PX', int(tonumber(ARGV[3]) - nowMs + tonumber(ARGV[4])))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return result
