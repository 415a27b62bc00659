-- Reap: return the reservations of one org whose deadline has passed (their replica crashed or
-- hung). The record stays, marked reaped with its buckets, so a settle that arrives later charges
-- actual usage without returning the reservation twice. GCRA rates are not refunded: the rate was
-- spent.
-- KEYS[1] the org's lease set, then the record keys of the candidates (one per id in ARGV), then
--     every bucket key those records name. The caller read the lease set and the records to know
--     them; all carry the lease set's {org} hash tag, hence its Cluster slot.
-- ARGV[1] nowMs, [2] recordRetentionMs, then the candidate reservation ids.
-- A record naming a key that was not declared is left for the next pass (it cannot happen unless
-- the record changed between the caller's read and this call).
-- Returns how many reservations were returned.

local nowMs = tonumber(ARGV[1])
local count = #ARGV - 2
local declared = {}
for i = 2 + count, #KEYS do declared[KEYS[i]] = true end

local function allDeclared(record)
  for key in string.gmatch(record, '\n.... [^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ ([^\n]+)') do
    if not declared[key] then return false end
  end
  return true
end

local reaped = 0
for j = 1, count do
  local id = ARGV[2 + j]
  local rec = KEYS[1 + j]
  local record = redis.call('GET', rec)
  if not record or string.sub(record, 1, 1) ~= 'o' then
    redis.call('ZREM', KEYS[1], id)
  else
    local out, deadlineS, prompt, promptCost, outPrice = string.match(record, '^o (%d+) (%d+) %d+ (%d+) (%d+) (%d+)')
    out, prompt, promptCost, outPrice = tonumber(out), tonumber(prompt), tonumber(promptCost), tonumber(outPrice)
    if not allDeclared(record) then
      -- Leave it: the next pass reads the record again.
    elseif tonumber(deadlineS) > nowMs then
      -- The lease set lags the record (renew.lua updates both, so this is repair only).
      redis.call('ZADD', KEYS[1], deadlineS, id)
    else
      -- Give back what reserve added to each counter's reserved field.
      for kind, measure, key in string.gmatch(record, '\n(.)(.)[^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* ([^\n]+)') do
        if kind == 'c' then
          releaseReserved(key, reservedAmount(measure, prompt, out, promptCost, outPrice))
        end
      end
      redis.call('SET', rec, 'r' .. string.sub(record, 2), 'PX', ARGV[2])
      redis.call('ZREM', KEYS[1], id)
      reaped = reaped + 1
    end
  end
end
return reaped
