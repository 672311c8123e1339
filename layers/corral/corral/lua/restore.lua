--[[
  Put back jobs that the job table holds as pending or processing but Redis lost (a
  flush, a failover), keeping the attempts they already made. A job Redis still holds,
  in any state, is left alone: the reconciler may race an enqueue or a poller.

  KEYS: prefix meta ring parked gactive delayed wake limits
  ARGV[1] now (ms)
  ARGV[2] group concurrency limit (0 = none)
  ARGV[3] number of jobs n, then 10 fields per job:
    id, group, data (JSON), opts (JSON), priority, delay (ms), timeout (ms), attemptsMade,
    createdAt (ms), expiresAt (ms, 0 = never)

  Returns the ids that were restored.
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/key_groups.lua
--@include includes/job.lua

local now = tonumber(ARGV[1])
local group_limit = group_limit_in_force(k, tonumber(ARGV[2]))
local n = tonumber(ARGV[3])
local seq = next_seq(k, n)
local restored = {}

for i = 0, n - 1 do
  local b = 4 + i * 10
  local id, group, data, opts = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local priority, delay = tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5])
  local timeout, attempts_made, created = ARGV[b + 6], ARGV[b + 7], ARGV[b + 8]
  local expires_at = ARGV[b + 9]
  if redis.call('EXISTS', job_key(id)) == 0 then
    insert_job({id = id, group = group, data = data, opts = opts, priority = priority,
      timeout = timeout, created = created, attempts_made = attempts_made,
      expires_at = expires_at, dedup = ''}, delay, now, seq + i, group_limit)
    restored[#restored + 1] = id
  end
end
if #restored > 0 then wake(k) end
return restored
