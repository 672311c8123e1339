--[[
  Set a queue's limits at runtime (PATCH /queues/{q}), or seed them again from the job
  table after Redis lost them. Every claim reads them (includes/claim.lua), so they take
  effect at the next claim of every poller. A field left out means the deployed value.

  KEYS: ring parked gactive wake limits
  ARGV[1] mode: 'set' replaces an older version; 'seed' writes only if nothing was seeded
  ARGV[2] the deployed group concurrency (0 = none)
  ARGV[3] the version of these limits (the job table item's; changes count it up)
  ARGV[4..] pairs of field, value for the limits set at runtime, any of:
    concurrency, groupConcurrency, rateMax, rateMs (0 = no limit, as when deployed)

  Returns 1 written, 0 left alone (already seeded, or Redis holds this version or newer:
  two changes racing cannot leave the older one in force).
]]
--@include includes/keys.lua
--@include includes/groups.lua

local lkey = k.limits
local held = redis.call('HGET', lkey, 'version')
if held and (ARGV[1] == 'seed' or tonumber(held) >= tonumber(ARGV[3])) then return 0 end
redis.call('DEL', lkey)
redis.call('HSET', lkey, 'version', ARGV[3])
for i = 4, #ARGV, 2 do
  redis.call('HSET', lkey, ARGV[i], ARGV[i + 1])
end
-- Groups parked at the old group limit that are under the new one go back to the ring;
-- a group over a lowered limit is parked by the next claim that reaches it.
local limit = group_limit_in_force(k, tonumber(ARGV[2]))
for _, g in ipairs(redis.call('SMEMBERS', k.parked)) do
  local active = tonumber(redis.call('HGET', k.gactive, g) or '0')
  if limit == 0 or active < limit then
    redis.call('SREM', k.parked, g)
    redis.call('RPUSH', k.ring, g)
  end
end
if redis.call('LLEN', k.ring) > 0 then wake(k) end
return 1
