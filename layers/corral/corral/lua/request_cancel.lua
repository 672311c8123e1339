--[[
  Ask a running job to stop: flag it, so that the worker holding it sees the request at
  its next heartbeat (extend.lua) and ends the job as cancelled (settle.lua, kind x).

  KEYS: prefix
  ARGV[1] job id

  Returns 1 flagged (or already flagged), -1 no such job, -4 it already finished,
  -7 it has not started (cancel.lua cancels it outright).
]]
--@include includes/keys.lua

local jkey = job_key(ARGV[1])
local state = redis.call('HGET', jkey, 'state')
if not state then return -1 end
if state == 'waiting' or state == 'delayed' then return -7 end
if state ~= 'active' then return -4 end
redis.call('HSET', jkey, 'cancel', '1')
return 1
