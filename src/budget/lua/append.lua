-- Append: the usage events of requests no budget applies to, as one stream entry with one field
-- `e` per event (slice-flush.lua writes its events the same way; the flusher reads every `e` of
-- an entry), so a batch costs Redis one entry to add, deliver and acknowledge, not one per request.
-- KEYS[1] the org's usage stream. ARGV: the events as JSON. Returns how many were appended.
local fields = {}
for i = 1, #ARGV do
  fields[#fields + 1] = 'e'
  fields[#fields + 1] = ARGV[i]
end
redis.call('XADD', KEYS[1], '*', unpack(fields))
return #ARGV
