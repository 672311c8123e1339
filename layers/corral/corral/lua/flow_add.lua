--[[
  Add a flow's parent job: it waits in the 'waiting-children' state (never claimable)
  until child_done.lua has counted its last required child. Also used by the flow
  reconciler to put a parent back after Redis lost it (a flush): a parent Redis still
  holds, in any state, is left alone.

  KEYS: prefix meta wchildren
  ARGV[1] now (ms)             ARGV[2] job id        ARGV[3] group (tenant)
  ARGV[4] data (JSON)          ARGV[5] opts (JSON)   ARGV[6] priority
  ARGV[7] timeout (ms)         ARGV[8] children the parent waits for (> 0)
  ARGV[9] group concurrency limit of this queue (0 = none), used when it is released
  ARGV[10] createdAt (ms)

  Its children's outcomes go to results_key(id) and failures_key(id) (includes/keys.lua).

  Returns 1 added, 0 the job already exists (nothing changed).
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/key_groups.lua
--@include includes/job.lua

local id = ARGV[2]
local jkey = job_key(id)
if redis.call('EXISTS', jkey) == 1 then return 0 end
local fields = job_fields({id = id, group = ARGV[3], data = ARGV[4], opts = ARGV[5],
  priority = ARGV[6], timeout = ARGV[7], created = ARGV[10], attempts_made = 0,
  expires_at = 0, dedup = ''}, 'waiting-children')
redis.call('HSET', jkey, 'pendingChildren', ARGV[8], 'groupLimit', ARGV[9], unpack(fields))
kg_added(jkey, ARGV[5])  -- its options.group applies once it is released
redis.call('ZADD', k.wchildren, tonumber(ARGV[10]), id)
return 1
