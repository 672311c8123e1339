--[[
  Cancel a job that has not started (waiting or delayed).

  KEYS: prefix meta ring parked delayed cancelled
  ARGV[1] now (ms)   ARGV[2] job id
  ARGV[3] keep cancelled (-1 = all)   ARGV[4] cancelled max age (ms, 0 = none)

  Returns 1 cancelled, -1 no such job, -3 it is active, -4 it already finished.
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/retention.lua

local now, id = tonumber(ARGV[1]), ARGV[2]
local jkey = job_key(id)
local f = redis.call('HMGET', jkey, 'state', 'group', 'dedup')
if not f[1] then return -1 end
if f[1] == 'active' then return -3 end
if f[1] == 'waiting' then
  remove_waiting(k, f[2], id)
elseif f[1] == 'delayed' then
  redis.call('ZREM', k.delayed, id)
else
  return -4
end
redis.call('HSET', jkey, 'state', 'cancelled', 'finishedAt', now)
redis.call('ZADD', k.cancelled, now, id)
release_dedup(k, f[3], id)
apply_retention(k.cancelled, tonumber(ARGV[3]), tonumber(ARGV[4]), now)
return 1
