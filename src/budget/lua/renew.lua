-- Renew: move an open reservation's deadline (a long stream keeps its lease while it runs).
-- KEYS[1] reservation record, KEYS[2] the org's lease set.
-- ARGV[1] id, [2] nowMs, [3] new deadlineMs, [4] recordRetentionMs.
-- Returns 1 when renewed, 0 when the reservation is no longer open (settled, reaped or unknown).
if redis.call('HGET', KEYS[1], 's') ~= 'o' then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[3])
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', tonumber(ARGV[3]) - tonumber(ARGV[2]) + tonumber(ARGV[4])))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
