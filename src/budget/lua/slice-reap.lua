-- Reap slices: give back everything held by holders whose lease ran out (their replica died or
-- hung for a whole lease). Their usage not yet flushed is lost with them, as a crashed replica's
-- requests in flight are; the usage events of answers it sent were appended per event-loop turn.
-- KEYS[1] the org's slice lease set, then the candidates' slice hashes (one per id in ARGV), then
--     every bucket key those hashes name (the caller read them to declare them).
-- ARGV[1] nowMs, then the candidate holder ids.
-- A hash naming a key that was not declared is left for the next pass. Returns how many holders
-- were reaped.
local nowMs = tonumber(ARGV[1])
local count = #ARGV - 1
local declared = {}
for i = 2 + count, #KEYS do declared[KEYS[i]] = true end
local reaped = 0
for j = 1, count do
  local id, hash = ARGV[1 + j], KEYS[1 + j]
  local deadline = tonumber(redis.call('ZSCORE', KEYS[1], id) or -1)
  if deadline >= 0 and deadline <= nowMs then
    local held = redis.call('HGETALL', hash)
    local all = true
    for f = 1, #held, 2 do
      if not declared[string.sub(held[f], 2)] then all = false end
    end
    if all then
      for f = 1, #held, 2 do
        local kind, key, amount = string.sub(held[f], 1, 1), string.sub(held[f], 2), tonumber(held[f + 1])
        if kind == 'c' then
          releaseReserved(key, amount)
        else
          local tat = redis.call('GET', key)
          if tat then redis.call('SET', key, int(tonumber(tat) - amount), 'KEEPTTL') end
        end
      end
      redis.call('DEL', hash)
      redis.call('ZREM', KEYS[1], id)
      reaped = reaped + 1
    end
  end
end
return reaped
