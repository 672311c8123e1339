--[[
  Re-arm a parent that failed because one child failed for good, before that child is
  retried: the parent waits for that child again, keeping what its other children left.

  KEYS: prefix failed wchildren
  ARGV[1] parent id   ARGV[2..] the children it waits for again (the one that failed it,
  or every child not counted in the job table when the reconciler re-arms it)

  Returns 1 re-armed, 0 already waiting for its children, -1 no such job,
  -5 the parent is not failed.
]]
--@include includes/keys.lua

local pid = ARGV[1]
local jkey = job_key(pid)
local f = redis.call('HMGET', jkey, 'state', 'createdAt')
if not f[1] then return -1 end
if f[1] == 'waiting-children' then return 0 end
if f[1] ~= 'failed' then return -5 end
redis.call('ZREM', k.failed, pid)
redis.call('HSET', jkey, 'state', 'waiting-children')
redis.call('HDEL', jkey, 'error', 'finishedAt')
for i = 2, #ARGV do
  redis.call('HDEL', failures_key(pid), ARGV[i])
  redis.call('HDEL', results_key(pid), ARGV[i])
end
redis.call('PERSIST', results_key(pid))
redis.call('PERSIST', failures_key(pid))
redis.call('ZADD', k.wchildren, tonumber(f[2]), pid)
return 1
