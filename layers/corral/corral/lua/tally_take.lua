--[[
  Take one tally to flush. A snapshot left by an earlier flush that did not finish comes
  back unchanged, with its flush id, so the DynamoDB update can tell whether it already
  landed; otherwise the live tally becomes the snapshot under a new flush id, greater
  than every earlier one of this member (and at least "now", so the ids still grow after
  Redis lost the last one). Counts added meanwhile go to a new live tally.

  KEYS[1] the set of members with counts to flush
  KEYS[2] the member's live tally
  KEYS[3] the member's snapshot
  KEYS[4] the member's last flush id
  ARGV[1] member (day|tenant)   ARGV[2] now (ms)   ARGV[3] how long the last id is kept (ms)

  Returns the snapshot's fields {field, value, ...} with its id under "_flush";
  {} if the member has nothing to flush (it leaves the set).
]]
if redis.call('EXISTS', KEYS[3]) == 1 then
  return redis.call('HGETALL', KEYS[3])
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[1], ARGV[1])
  return {}
end
local last = tonumber(redis.call('GET', KEYS[4]) or '0')
local id = math.max(tonumber(ARGV[2]), last + 1)
redis.call('SET', KEYS[4], id, 'PX', ARGV[3])
redis.call('RENAME', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[3], '_flush', id)
return redis.call('HGETALL', KEYS[3])
