-- Reap: return the reservations of one org whose deadline has passed (their replica crashed or
-- hung). The record stays, marked reaped with its buckets, so a settle that arrives later charges
-- actual usage without returning the reservation twice. GCRA rates are not refunded: the rate was
-- spent.
-- KEYS[1] the org's lease set.
-- ARGV[1] nowMs, [2] maxCount, [3] recordRetentionMs, [4] record key prefix ('<p>{org:O}:rsv:').
-- Record and bucket keys come from the lease set and the records (see reserve.lua); all carry the
-- lease set's {org} hash tag, hence its Cluster slot.
-- Returns how many reservations were returned.

local nowMs = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local reaped = 0
for _, id in ipairs(ids) do
  local rec = ARGV[4] .. id
  local record = redis.call('GET', rec)
  if not record or string.sub(record, 1, 1) ~= 'o' then
    redis.call('ZREM', KEYS[1], id)
  else
    local out, deadlineS, prompt, promptCost, outPrice = string.match(record, '^o (%d+) (%d+) %d+ (%d+) (%d+) (%d+)')
    out, prompt, promptCost, outPrice = tonumber(out), tonumber(prompt), tonumber(promptCost), tonumber(outPrice)
    if tonumber(deadlineS) > nowMs then
      -- The lease set lags the record (renew.lua updates both, so this is repair only).
      redis.call('ZADD', KEYS[1], deadlineS, id)
    else
      -- Give back what reserve added to each counter's reserved field.
      for kind, measure, key in string.gmatch(record, '\n(.)(.)[^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* ([^\n]+)') do
        if kind == 'c' then
          local amount = reservedAmount(measure, prompt, out, promptCost, outPrice)
          if amount > 0 and redis.call('EXISTS', key) == 1 and redis.call('HINCRBY', key, 'r', string.format('%.0f', -amount)) < 0 then
            redis.call('HSET', key, 'r', 0)
          end
        end
      end
      redis.call('SET', rec, 'r' .. string.sub(record, 2), 'PX', ARGV[3])
      redis.call('ZREM', KEYS[1], id)
      reaped = reaped + 1
    end
  end
end
return reaped
