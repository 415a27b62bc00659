-- Restore: recreate counters that were lost (see reserve.lua's epoch) with the used amount the
-- ledger holds for their window. Only a counter that is still missing is created, so replicas
-- racing to rebuild the same counter count it once.
-- KEYS[1] the org's epoch: only routes the call to the org's Cluster slot. The counter keys come
-- in ARGV and share that {org} hash tag.
-- ARGV: three per counter: key, used, ttlMs (0: no expiry).
-- Returns how many counters were created.
local created = 0
for i = 1, #ARGV, 3 do
  if redis.call('EXISTS', ARGV[i]) == 0 then
    created = created + 1
    redis.call('HSET', ARGV[i], 'u', ARGV[i + 1], 'r', 0)
    if ARGV[i + 2] ~= '0' then redis.call('PEXPIRE', ARGV[i], ARGV[i + 2]) end
  end
end
return created
