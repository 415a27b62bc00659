-- Renew slices: move a holder's lease (it holds slices while requests it admitted run, or while it
-- is busy). KEYS[1] the org's slice lease set. ARGV[1] holder id, [2] deadlineMs.
-- Returns 1 when renewed, 0 when the reaper already returned the holder's slices.
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
