--[[
  Heartbeat: extend the leases of jobs a worker still holds, and tell it which of them
  someone asked to cancel (request_cancel.lua).

  KEYS: prefix active
  ARGV[1] now (ms)
  ARGV[2] new lease length (ms)
  ARGV[3..] pairs of id, lease token

  Returns {lost, cancelling}: the ids whose lease was lost (the worker should stop
  reporting on them) and the held ids whose cancellation was asked for.
]]
--@include includes/keys.lua

local deadline = tonumber(ARGV[1]) + tonumber(ARGV[2])
local lost, cancelling = {}, {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local f = redis.call('HMGET', job_key(id), 'lock', 'cancel')
  if f[1] == ARGV[i + 1] then
    redis.call('ZADD', k.active, 'XX', deadline, id)
    if f[2] then cancelling[#cancelling + 1] = id end
  else
    lost[#lost + 1] = id
  end
end
return {lost, cancelling}
