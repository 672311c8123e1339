--[[
  Before a child whose outcome its parent counted (a failure ignored with
  ignoreDependencyOnFailure, or a cancel) is retried: the parent forgets that outcome and
  waits for the child again. Runs before the job table's half (FlowStore.wait_again), and
  is atomic against the claim: a parent released but never claimed is taken back from the
  waiting jobs; one that started keeps what it had.

  KEYS: prefix ring parked wchildren
  ARGV[1] parent id   ARGV[2] child id   ARGV[3] how many children the parent has

  Returns:
    1  the parent waits for the child again
    2  the parent had been released and never claimed: it waits for all its children
       again with none recorded (the caller replays those the job table counted)
    0  the parent waits for its children, but had not recorded this one (nothing changed)
   -5  the parent started, finished, failed or was cancelled: it keeps what it had
   -1  no such parent
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/job.lua

local pid, cid = ARGV[1], ARGV[2]
local jkey = job_key(pid)
local f = redis.call('HMGET', jkey, 'state', 'group', 'flowOpts', 'attemptsMade', 'createdAt')
if not f[1] then return -1 end
if f[1] == 'waiting-children' then
  if redis.call('HDEL', results_key(pid), cid) + redis.call('HDEL', failures_key(pid), cid) == 0 then
    return 0
  end
  redis.call('HINCRBY', jkey, 'pendingChildren', 1)
  return 1
end
-- flowOpts: its opts before child_done.lua added its children's outcomes.
if f[1] ~= 'waiting' or not f[3] or (f[4] or '0') ~= '0' then return -5 end
remove_waiting(k, f[2], pid)
set_job_opts(jkey, f[3])
redis.call('HDEL', jkey, 'flowOpts')
redis.call('HSET', jkey, 'state', 'waiting-children', 'pendingChildren', ARGV[3])
redis.call('ZADD', k.wchildren, tonumber(f[5]), pid)
return 2
