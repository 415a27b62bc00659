-- Reap: return the reservations of one org whose deadline has passed (their replica crashed or
-- hung). The record stays, marked reaped, so a settle that arrives later charges actual usage
-- without returning the reservation twice. GCRA rates are not refunded: the rate was spent.
-- KEYS[1] the org's lease set.
-- ARGV[1] nowMs, [2] maxCount, [3] recordRetentionMs, [4] record key prefix ('<p>{org:O}:rsv:').
-- Record and bucket keys are derived here; all carry the lease set's {org} hash tag, hence its slot.
-- Returns how many reservations were returned.
local nowMs = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local reaped = 0
for _, id in ipairs(ids) do
  local rec = ARGV[4] .. id
  local state = redis.call('HMGET', rec, 's', 'd', 'b')
  if state[1] ~= 'o' then
    redis.call('ZREM', KEYS[1], id)
  elseif tonumber(state[2]) > nowMs then
    -- The lease set lags the record (cannot happen through renew.lua); trust the record.
    redis.call('ZADD', KEYS[1], state[2], id)
  else
    for _, b in ipairs(cjson.decode(state[3])) do
      if b[1]:sub(1, 1) == 'c' and b[3] ~= '0' and redis.call('EXISTS', b[2]) == 1 then
        if redis.call('HINCRBY', b[2], 'r', '-' .. b[3]) < 0 then redis.call('HSET', b[2], 'r', 0) end
      end
    end
    redis.call('HSET', rec, 's', 'r')
    redis.call('PEXPIRE', rec, ARGV[3])
    redis.call('ZREM', KEYS[1], id)
    reaped = reaped + 1
  end
end
return reaped
