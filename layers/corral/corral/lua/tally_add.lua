--[[
  Add lifecycle counts to a queue's daily tallies, which tally_take later hands to the
  flush into DynamoDB. A tally is one hash per tenant and UTC day.

  KEYS[1] the set of members (day|tenant) whose tallies hold counts to flush
  KEYS[2..] the live tally of each member, in the order of ARGV[1]
  ARGV[1] JSON: [[member, {field: amount}, {field: text}], ...]; texts are set once
          (the error messages behind the e_<hash> counts)

  Returns the number of tallies touched.
]]
local tallies = cjson.decode(ARGV[1])
for i, t in ipairs(tallies) do
  local key = KEYS[i + 1]
  redis.call('SADD', KEYS[1], t[1])
  for field, amount in pairs(t[2]) do redis.call('HINCRBY', key, field, amount) end
  for field, text in pairs(t[3]) do redis.call('HSETNX', key, field, text) end
end
return #tallies
