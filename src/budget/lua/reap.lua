-- Reap: return the reservations of one org whose deadline has passed (their replica crashed or
-- hung). The record stays, marked reaped, so a settle that arrives later charges actual usage
-- without returning the reservation twice. GCRA rates are not refunded: the rate was spent.
-- KEYS[1] the org's lease set.
-- ARGV[1] nowMs, [2] maxCount, [3] recordRetentionMs, [4] record key prefix ('<p>{org:O}:rsv:').
-- Record and bucket keys come from the lease set and the records; all carry the lease set's {org}
-- hash tag, hence its Cluster slot.
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
    -- The lease set lags the record (renew.lua updates both, so this is repair only).
    redis.call('ZADD', KEYS[1], state[2], id)
  else
    -- Each line is "amount key": what reserve added to the key's reserved field.
    for amount, key in string.gmatch(state[3], '(%d+) ([^\n]+)') do
      if redis.call('EXISTS', key) == 1 and redis.call('HINCRBY', key, 'r', '-' .. amount) < 0 then
        redis.call('HSET', key, 'r', 0)
      end
    end
    redis.call('HDEL', rec, 'b', 'd')
    redis.call('HSET', rec, 's', 'r')
    redis.call('PEXPIRE', rec, ARGV[3])
    redis.call('ZREM', KEYS[1], id)
    reaped = reaped + 1
  end
end
return reaped
