-- Restore: recreate counters that were lost (see reserve.lua's epoch) with the used amount the
-- ledger holds for their window. Only a counter that is still missing is created, so replicas
-- racing to rebuild the same counter count it once.
-- KEYS: the counters (all carry the org's {org} hash tag, hence one Cluster slot).
-- ARGV: two per counter, in KEYS' order: used, ttlMs (0: no expiry).
-- Returns how many counters were created.
local created = 0
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    created = created + 1
    redis.call('HSET', KEYS[i], 'u', ARGV[2 * i - 1], 'r', 0)
    if ARGV[2 * i] ~= '0' then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i]) end
  end
end
return created
