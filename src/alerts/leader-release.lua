-- Gives the evaluator's lock up if the caller still holds it (a stopping replica), so another
-- takes over at its next evaluation instead of after the lock's lifetime. KEYS[1] the lock,
-- ARGV[1] the caller's owner id. Returns 1 when released.
local held = redis.call('GET', KEYS[1])
if held and string.match(held, '^(.*)|%d+$') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
