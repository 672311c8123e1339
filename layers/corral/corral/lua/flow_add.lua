--[[
  Add a flow's parent job: it waits in the 'waiting-children' state (never claimable)
  until child_done.lua has counted its last required child. Also used by the flow
  reconciler to put a parent back after Redis lost it (a flush): a parent Redis still
  holds, in any state, is left alone.

  KEYS: the queue's fixed keys (includes/keys.lua).
  ARGV[1] now (ms)             ARGV[2] job id        ARGV[3] group (tenant)
  ARGV[4] data (JSON)          ARGV[5] opts (JSON)   ARGV[6] priority
  ARGV[7] timeout (ms)         ARGV[8] children the parent waits for (> 0)
  ARGV[9] group concurrency limit of this queue (0 = none), used when it is released
  ARGV[10] createdAt (ms)

  Keys built from the prefix (same hash tag): job:<id>, the 'wchildren' zset (parents
  waiting for children, by creation time), job:<id>:results and job:<id>:failures.

  Returns 1 added, 0 the job already exists (nothing changed).
]]
--@include includes/keys.lua

local id = ARGV[2]
local jkey = job_key(id)
if redis.call('EXISTS', jkey) == 1 then return 0 end
redis.call('HSET', jkey, 'data', ARGV[4], 'opts', ARGV[5], 'group', ARGV[3],
  'priority', ARGV[6], 'timeout', ARGV[7], 'createdAt', ARGV[10], 'attemptsMade', 0,
  'stalls', 0, 'state', 'waiting-children', 'expiresAt', 0, 'dedup', '',
  'pendingChildren', ARGV[8], 'groupLimit', ARGV[9])
redis.call('ZADD', k.prefix .. 'wchildren', tonumber(ARGV[10]), id)
return 1
