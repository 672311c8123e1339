--[[
  Cancel a parent that is waiting for its children (cancel.lua covers jobs that wait to
  run). Its children are cancelled one by one by the caller, each in its own queue.

  KEYS: prefix cancelled wchildren
  ARGV[1] now (ms)   ARGV[2] job id

  Returns 1 cancelled, -1 no such job, -4 it is not waiting for children.
]]
--@include includes/keys.lua

local now, id = tonumber(ARGV[1]), ARGV[2]
local jkey = job_key(id)
local state = redis.call('HGET', jkey, 'state')
if not state then return -1 end
if state ~= 'waiting-children' then return -4 end
redis.call('HSET', jkey, 'state', 'cancelled', 'finishedAt', now)
redis.call('ZREM', k.wchildren, id)
redis.call('ZADD', k.cancelled, now, id)
redis.call('DEL', results_key(id), failures_key(id))
return 1
