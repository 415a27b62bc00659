-- Takes or renews the alert evaluator's lock. KEYS[1] the lock ("owner|token"), KEYS[2] the
-- fencing counter; ARGV[1] the caller's owner id, ARGV[2] the lock's lifetime in ms.
-- Returns the holder's fencing token when the caller holds the lock afterwards, else -1.
local held = redis.call('GET', KEYS[1])
if held then
  local owner, token = string.match(held, '^(.*)|(%d+)$')
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(token)
  end
  return -1
end
-- A new holder gets a larger token than every holder before it, so a write can be told stale.
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return token
