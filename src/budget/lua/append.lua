-- Append: the usage events of requests no budget applies to, one stream entry each (the same
-- shape settle.lua writes), so a batch costs one round trip instead of one XADD per request.
-- KEYS[1] the org's usage stream. ARGV: the events as JSON. Returns how many were appended.
for i = 1, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
end
return #ARGV
