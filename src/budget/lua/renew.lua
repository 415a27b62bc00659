-- Renew: move an open reservation's deadline (a long stream keeps its lease while it runs).
-- KEYS[1] reservation record (see reserve.lua), KEYS[2] the org's lease set.
-- ARGV[1] id, [2] nowMs, [3] new deadlineMs, [4] recordRetentionMs.
-- Returns 1 when renewed, 0 when the reservation is no longer open (settled, reaped or unknown).
local record = redis.call('GET', KEYS[1])
if not record or string.sub(record, 1, 1) ~= 'o' then return 0 end
local out, rest = string.match(record, '^o (%d+) %d+(.*)$')
redis.call('SET', KEYS[1], 'o ' .. out .. ' ' .. ARGV[3] .. rest,
  'PX', string.format('%.0f', tonumber(ARGV[3]) - tonumber(ARGV[2]) + tonumber(ARGV[4])))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
