-- Flush slices: what a holder's locally admitted requests used since the last flush, what it gives
-- back, and their usage events, in one step (src/budget/slices.ts gathers them per org and
-- event-loop turn, as settle.lua's batches). Idempotent it is not, and need not be: the holder
-- sends each amount once, after a failed call it sends the same sums again.
-- KEYS[1] the org's slice lease set, KEYS[2] this holder's slice hash, KEYS[3] the org's usage
--     stream, then one key per bucket (all carry the org's hash tag).
-- ARGV[1] holder id, [2] nowMs, [3] deadlineMs (the holder's lease moves with every flush),
--     [4] bucket count n, then seven per bucket: kind (c, g), used (counters: charged to u; rates:
--     time spent), giveBack (unspent room returned to the bucket), limit, warnAt, criticalAt,
--     expireAtMs (0 never: a counter recreated by the charge gets its window's expiry back), then
--     the usage events as JSON (one stream entry holds them all).
-- The slice shrinks by used + giveBack, never below zero: a slice the reaper already returned (its
-- holder looked dead) gives back nothing twice, and its usage is still charged (a late settle).
-- Returns {lease kept 1 | 0, then per bucket: held after, free after, crossing level or 0, used}.
local nowMs = tonumber(ARGV[2])
local n = tonumber(ARGV[4])
-- The common case moves an existing deadline (1); 0 is a missing holder or an unchanged deadline.
local leased = redis.call('ZADD', KEYS[1], 'XX', 'CH', ARGV[3], ARGV[1]) == 1 or redis.call('ZSCORE', KEYS[1], ARGV[1]) ~= false
local result = {leased and 1 or 0}
local emptied = false
for i = 1, n do
  local at = 4 + (i - 1) * 7
  local kind, usedS, giveBack = ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3])
  local used = tonumber(usedS)
  local limit, expireAtMs = tonumber(ARGV[at + 4]), tonumber(ARGV[at + 7])
  local key = KEYS[3 + i]
  local field = kind .. key
  -- Shrink the slice by used + giveBack, never below zero (one call while it keeps some room).
  local shrink, held = used + giveBack, 0
  if shrink > 0 then
    held = redis.call('HINCRBY', KEYS[2], field, int(-shrink))
    if held <= 0 then
      shrink = shrink + held
      held = 0
      redis.call('HDEL', KEYS[2], field)
      emptied = true
    end
  else
    held = tonumber(redis.call('HGET', KEYS[2], field) or 0)
  end
  local level, usedNow, free = 0, 0, 0
  if kind == 'c' then
    local reserved
    if used > 0 and (expireAtMs == 0 or expireAtMs > nowMs) then
      usedNow = redis.call('HINCRBY', key, 'u', usedS)
      if usedNow == used and expireAtMs > 0 and redis.call('PTTL', key) == -1 then
        redis.call('PEXPIRE', key, int(expireAtMs - nowMs))
      end
      if usedNow >= limit then level = 3
      elseif usedNow >= tonumber(ARGV[at + 6]) then level = 2
      elseif usedNow >= tonumber(ARGV[at + 5]) then level = 1 end
      if level > 0 and level > tonumber(redis.call('HGET', key, 'x') or 0) then
        redis.call('HSET', key, 'x', level)
      else
        level = 0
      end
    end
    -- The key exists once used was charged; otherwise it may have expired, and must not come back.
    if shrink > 0 and (usedNow > 0 or redis.call('EXISTS', key) == 1) then
      reserved = redis.call('HINCRBY', key, 'r', int(-shrink))
      if reserved < 0 then
        redis.call('HSET', key, 'r', 0)
        reserved = 0
      end
    end
    if reserved and usedNow > 0 then
      free = limit - usedNow - reserved
    else
      local state = redis.call('HMGET', key, 'u', 'r')
      free = limit - tonumber(state[1] or 0) - tonumber(state[2] or 0)
    end
  else
    -- A rate keeps the time its requests spent; only the unspent part goes back.
    local back = math.max(0, shrink - used)
    local tat = redis.call('GET', key)
    if tat and back > 0 then
      tat = tonumber(tat) - back
      redis.call('SET', key, int(tat), 'KEEPTTL')
    end
    free = nowMs * 1000 + limit - math.max(tonumber(tat or 0), nowMs * 1000)
  end
  result[#result + 1] = held
  result[#result + 1] = free
  result[#result + 1] = level
  result[#result + 1] = usedNow
end
-- A holder with nothing left leaves the lease set; the reaper has nothing to return for it.
if emptied and redis.call('EXISTS', KEYS[2]) == 0 then redis.call('ZREM', KEYS[1], ARGV[1]) end
-- The events go as one stream entry with one field `e` each, as append.lua writes them.
local fields = {}
for i = 5 + n * 7, #ARGV do
  fields[#fields + 1] = 'e'
  fields[#fields + 1] = ARGV[i]
end
if #fields > 0 then redis.call('XADD', KEYS[3], '*', unpack(fields)) end
return result
