-- Helpers shared by every budget script. Redis scripts cannot import, so redis-store.ts prepends
-- this file to each script when it registers it.

-- Every computed number written goes through int(): Lua formats large numbers in exponent form
-- and -0 as '-0', which Redis rejects as integers.
local function int(n)
  if n == 0 then return '0' end
  return string.format('%.0f', n)
end

-- ceil(a / b) for non-negative integers, exact where a / b in doubles could round onto an integer.
local function ceilDiv(a, b)
  local q = math.floor(a / b)
  if q * b < a then q = q + 1 end
  if q > 0 and (q - 1) * b >= a then q = q - 1 end
  return q
end

-- Gives a dead holder's room back to a counter's reserved field, never below zero, and never
-- recreates a counter that has expired or been lost (the reapers of reservations and slices).
local function releaseReserved(key, amount)
  if amount > 0 and redis.call('EXISTS', key) == 1 and redis.call('HINCRBY', key, 'r', int(-amount)) < 0 then
    redis.call('HSET', key, 'r', 0)
  end
end

-- What a reservation holds on a counter of this measure for `out` output tokens: prompt + output
-- tokens (t), their cost rounded up to whole micro-USD (c), or one request / one slot (r, f).
-- reserve, settle and the reaper must agree on it exactly, so it lives here once.
local function reservedAmount(measure, prompt, out, promptCost, outPrice)
  if measure == 't' then return prompt + out end
  if measure == 'c' then return ceilDiv(promptCost + out * outPrice, 1000000) end
  return 1
end

