--[[
  Re-run a failed or cancelled job with a fresh attempt budget.

  KEYS: prefix meta ring parked gactive failed cancelled wake limits
  ARGV[1] now (ms)   ARGV[2] job id   ARGV[3] group concurrency (0 = none)

  Returns 1 queued again, -1 no such job, -5 the job is not failed or cancelled.
]]
--@include includes/keys.lua
--@include includes/groups.lua

local id = ARGV[2]
local jkey = job_key(id)
local f = redis.call('HMGET', jkey, 'state', 'group', 'priority')
if not f[1] then return -1 end
if f[1] ~= 'failed' and f[1] ~= 'cancelled' then return -5 end
redis.call('ZREM', k[f[1]], id)
redis.call('HSET', jkey, 'state', 'waiting')
-- A fresh attempt budget: attemptsMade, stalls and expiresAt back to 0 (includes/job.lua).
redis.call('HDEL', jkey, 'finishedAt', 'result', 'progress', 'attemptsMade', 'stalls', 'expiresAt')
local group_limit = group_limit_in_force(k, tonumber(ARGV[3]))
push_waiting(k, f[2], id, wait_score(tonumber(f[3] or '0'), next_seq(k, 1)), group_limit)
wake(k)
return 1
