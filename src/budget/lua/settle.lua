-- Settle: move reservations from reserved to actual usage on the buckets they debited, report
-- threshold crossings once per bucket and window, and append each usage event to the org's
-- stream, all in one step. Idempotent by reservation id. One call settles a batch of one org's
-- reservations (the store groups settles that finish close together), each on its own.
-- KEYS[1] the org's lease set, KEYS[2] the org's usage stream, then the reservations' record keys
--     (one per reservation, in ARGV's order), then every bucket key those records name. All carry
--     the org's hash tag (same slot).
-- ARGV[1] recordRetentionMs, then five per reservation: id, nowMs, actualTokens,
--     actualCostMicros, usage event JSON.
-- The buckets, their keys and what was reserved on each come from the record reserve.lua wrote
-- (see there), so settle adjusts exactly what reserve debited even if budgets changed since. The
-- caller read the records to declare their keys; a record naming a key it did not declare fails
-- the call rather than touch an undeclared key.
-- Returns, per reservation in order: status, crossing count n, then n × (bucket index in
-- reserve's order from 1, level, used). status 1 settled, 3 late (the reaper had returned the
-- reservation: only actual usage is charged), 2 duplicate, 0 unknown (no record: only the event
-- is appended; the ledger dedupes by request id). Levels: 1 warning, 2 critical, 3 exceeded. The
-- stream is never trimmed here: the flusher trims what it acknowledged.

local leases, stream = KEYS[1], KEYS[2]
local retention = ARGV[1]
local count = (#ARGV - 1) / 5
local declared = {}
for i = 3 + count, #KEYS do declared[KEYS[i]] = true end
local reply = {}

-- Appends one reservation's answer to reply: status, then its crossings (counted once done).
local function settle(rec, id, nowMs, actualTokensS, actualCostS, event)
  local record = redis.call('GET', rec)
  if not record then
    redis.call('XADD', stream, '*', 'e', event)
    reply[#reply + 1] = 0
    reply[#reply + 1] = 0
    return
  end
  local state = string.sub(record, 1, 1)
  if state == 's' then
    reply[#reply + 1] = 2
    reply[#reply + 1] = 0
    return
  end

  local open = state == 'o'
  local outS, reservedAtS, promptS, promptCostS, outPriceS = string.match(record, '^. (%d+) %d+ (%d+) (%d+) (%d+) (%d+)')
  local out, reservedAtMs = tonumber(outS), tonumber(reservedAtS)
  local prompt, promptCost, outPrice = tonumber(promptS), tonumber(promptCostS), tonumber(outPriceS)
  local actualTokens = tonumber(actualTokensS)
  reply[#reply + 1] = open and 1 or 3
  local countAt = #reply + 1
  reply[countAt] = 0
  local actualByMeasure = { t = actualTokens, c = tonumber(actualCostS), r = 1, f = 0 }
  -- What was reserved on a counter depends only on its measure; the actual amounts are the
  -- arguments as sent (integers in decimal), so nothing here is formatted twice.
  local reservedByMeasure = { t = reservedAmount('t', prompt, out, promptCost, outPrice), c = reservedAmount('c', prompt, out, promptCost, outPrice), r = 1, f = 1 }
  local giveBackByMeasure = { t = int(-reservedByMeasure.t), c = int(-reservedByMeasure.c), r = '-1', f = '-1' }
  local actualArgByMeasure = { t = actualTokensS, c = actualCostS, r = '1', f = '0' }

  local i = 0
  for kind, measure, limitS, ttlS, periodS, warnS, criticalS, key in
    string.gmatch(record, '\n(.)(.).. ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^\n]+)') do
    i = i + 1
    if kind == 'c' then
      local amount = reservedByMeasure[measure]
      local actual = actualByMeasure[measure]
      local expireAtMs = 0
      if ttlS ~= '0' then expireAtMs = reservedAtMs + tonumber(ttlS) end
      local created = false
      if open and amount > 0 then
        local reserved = redis.call('HINCRBY', key, 'r', giveBackByMeasure[measure])
        -- Below zero means the key had expired (or Redis lost it): never keep a negative reservation.
        if reserved < 0 then
          created = reserved == -amount
          redis.call('HSET', key, 'r', 0)
        end
      end
      if actual > 0 and (expireAtMs == 0 or expireAtMs > nowMs) then
        local used = redis.call('HINCRBY', key, 'u', actualArgByMeasure[measure])
        -- First usage in a key that had vanished: give the recreated key its window's expiry back.
        if used == actual and expireAtMs > 0 and redis.call('PTTL', key) == -1 then
          redis.call('PEXPIRE', key, int(expireAtMs - nowMs))
        end
        local level = 0
        if used >= tonumber(limitS) then level = 3
        elseif used >= tonumber(criticalS) then level = 2
        elseif used >= tonumber(warnS) then level = 1 end
        if level > 0 and level > tonumber(redis.call('HGET', key, 'x') or 0) then
          redis.call('HSET', key, 'x', level)
          reply[countAt] = reply[countAt] + 1
          reply[#reply + 1] = i
          reply[#reply + 1] = level
          reply[#reply + 1] = used
        end
      elseif created then
        -- The window is over and nothing is charged to it: drop the key the decrement recreated.
        redis.call('DEL', key)
      end
    elseif measure == 't' then
      -- A token rate gives back what was reserved but not produced. Request rates keep what they
      -- took: there is nothing to give back.
      local refund = prompt + out - actualTokens
      local tat = refund > 0 and redis.call('GET', key)
      if tat then
        redis.call('SET', key, int(tonumber(tat) - ceilDiv(refund * tonumber(periodS) * 1000, tonumber(limitS))), 'KEEPTTL')
      end
    end
  end

  redis.call('ZREM', leases, id)
  -- Keep only the state and output tokens: enough to answer a retried settle or reserve.
  redis.call('SET', rec, 's ' .. outS, 'PX', retention)
  redis.call('XADD', stream, '*', 'e', event)
end

-- Checked before anything is written, so a failed call changes nothing.
for j = 1, count do
  local record = redis.call('GET', KEYS[2 + j])
  if record then
    for key in string.gmatch(record, '\n.... [^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ ([^\n]+)') do
      if not declared[key] then return redis.error_reply('settle: bucket key not declared: ' .. key) end
    end
  end
end
for j = 1, count do
  local at = 2 + (j - 1) * 5
  settle(KEYS[2 + j], ARGV[at], tonumber(ARGV[at + 1]), ARGV[at + 2], ARGV[at + 3], ARGV[at + 4])
end
return reply
