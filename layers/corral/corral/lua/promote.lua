--[[
  Promote a delayed job: make it due now, so the next claim hands it out.

  The job moves straight to its group's waiting set (not to the delayed set with a due
  time of now) so that it is claimable at once, even by a drainer that is blocked on the
  wake-up list; a backoff before a retry counts as delayed and is cut short the same way.

  KEYS: prefix meta ring parked gactive delayed wake
  ARGV[1] job id   ARGV[2] group concurrency (0 = none)

  Returns 1 promoted, -1 no such job, -6 the job is not delayed.
]]
--@include includes/keys.lua
--@include includes/groups.lua

local id = ARGV[1]
local jkey = job_key(id)
local f = redis.call('HMGET', jkey, 'state', 'group', 'priority')
if not f[1] then return -1 end
if f[1] ~= 'delayed' or redis.call('ZREM', k.delayed, id) == 0 then return -6 end
redis.call('HSET', jkey, 'state', 'waiting')
push_waiting(k, f[2], id, wait_score(tonumber(f[3] or '0'), next_seq(k, 1)), tonumber(ARGV[2]))
wake(k)
return 1
