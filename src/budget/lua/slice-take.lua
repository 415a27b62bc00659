-- Take slices: a replica (the holder) moves part of several buckets' free room into its own slice
-- in one step, then admits requests against it in process (src/budget/slices.ts). All or nothing:
-- a slice of one bucket is no use to a request that also needs another. A counter's slice sits in
-- its reserved field (r), so every other replica and the per-request path see it as taken; a rate's
-- slice is theoretical-arrival time moved ahead, as reserve.lua does one request at a time.
-- KEYS[1] the org's slice lease set (holder -> deadline), KEYS[2] this holder's slice hash
--     (field: kind .. bucket key, value: what it holds), then one key per bucket (all carry the
--     org's hash tag).
-- ARGV[1] holder id, [2] nowMs, [3] deadlineMs, then four per bucket: kind (c counter, g rate),
--     limit, want, min. Amounts are counter units, or µs of a rate's time (its limit is then its
--     period in µs: a rate's whole room).
-- Grants min(want, free / (4 × holders)): large far from the limit, shrinking as it nears, and
-- nothing (the per-request path, which is exact) once that falls below min for any bucket, or a
-- counter is missing (the per-request path rebuilds lost counters).
-- Returns {1 granted | 0 refused, holders, then per bucket: granted, free after}.
local nowMs = tonumber(ARGV[2])
local nowUs = nowMs * 1000
local n = #KEYS - 2
local holders = redis.call('ZCARD', KEYS[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then holders = holders + 1 end

local kinds, free, grant, tat = {}, {}, {}, {}
local ok = true
for i = 1, n do
  local at = 3 + (i - 1) * 4
  local kind, limit, want, min = ARGV[at + 1], tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4])
  kinds[i] = kind
  local key = KEYS[2 + i]
  if kind == 'c' then
    local state = redis.call('HMGET', key, 'u', 'r')
    if not state[1] and not state[2] then
      ok = false
      free[i] = 0
    else
      free[i] = limit - tonumber(state[1] or 0) - tonumber(state[2] or 0)
    end
  else
    tat[i] = math.max(tonumber(redis.call('GET', key) or 0), nowUs)
    free[i] = nowUs + limit - tat[i]
  end
  grant[i] = math.min(want, math.floor(free[i] / (4 * holders)))
  if grant[i] < min then ok = false end
end

local result = {ok and 1 or 0, holders}
for i = 1, n do
  if ok then
    local key = KEYS[2 + i]
    if kinds[i] == 'c' then
      redis.call('HINCRBY', key, 'r', int(grant[i]))
    else
      local newTat = tat[i] + grant[i]
      redis.call('SET', key, int(newTat), 'PX', int(math.max(1, ceilDiv(newTat - nowUs, 1000))))
    end
    redis.call('HINCRBY', KEYS[2], kinds[i] .. key, int(grant[i]))
    free[i] = free[i] - grant[i]
  else
    grant[i] = 0
  end
  result[#result + 1] = grant[i]
  result[#result + 1] = free[i]
end
if ok then redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return result
