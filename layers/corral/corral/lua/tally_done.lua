--[[
  Forget a snapshot once its flush is in DynamoDB (applied now, or found applied before).
  A member leaves the set when it has neither a snapshot nor new counts.

  KEYS[1] the set of members with counts to flush
  KEYS[2] the member's live tally
  KEYS[3] the member's snapshot
  ARGV[1] member (day|tenant)   ARGV[2] the flush id written

  Returns 1 if the snapshot was removed, 0 if it was another flush's (left alone).
]]
local removed = 0
if redis.call('HGET', KEYS[3], '_flush') == ARGV[2] then
  redis.call('DEL', KEYS[3])
  removed = 1
end
if redis.call('EXISTS', KEYS[2]) == 0 and redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('SREM', KEYS[1], ARGV[1])
end
return removed
