--[[
  Heartbeat: extend the leases of jobs a worker still holds.

  KEYS: the queue's fixed keys (includes/keys.lua).
  ARGV[1] now (ms)
  ARGV[2] new lease length (ms)
  ARGV[3..] pairs of id, lease token

  Returns the ids whose lease was lost (the worker should stop reporting on them).
]]
--@include includes/keys.lua

local deadline = tonumber(ARGV[1]) + tonumber(ARGV[2])
local lost = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', job_key(id), 'lock') == ARGV[i + 1] then
    redis.call('ZADD', k.active, 'XX', deadline, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
