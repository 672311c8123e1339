--[[
  Clean a queue: remove finished jobs (completed, failed, cancelled) older than a grace
  period, or cancel pending jobs (waiting, delayed) created before it. Pending jobs are
  cancelled rather than deleted so that their outcome can be recorded first.

  KEYS: prefix meta ring parked delayed completed failed cancelled
  ARGV[1] now (ms)   ARGV[2] state   ARGV[3] grace (ms)   ARGV[4] most jobs to touch
  ARGV[5] keep cancelled (-1 = all)   ARGV[6] cancelled max age (ms, 0 = none)

  Returns the ids removed or cancelled.
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/waiting.lua
--@include includes/retention.lua

local now, state = tonumber(ARGV[1]), ARGV[2]
local cutoff, limit = now - tonumber(ARGV[3]), tonumber(ARGV[4])

local function cancel(id)
  redis.call('HSET', job_key(id), 'state', 'cancelled', 'finishedAt', now)
  redis.call('ZADD', k.cancelled, now, id)
  release_dedup(k, redis.call('HGET', job_key(id), 'dedup'), id)
end

local function old_enough(id)
  return tonumber(redis.call('HGET', job_key(id), 'createdAt')) <= cutoff
end

local out = {}
if state == 'completed' or state == 'failed' or state == 'cancelled' then
  out = redis.call('ZRANGEBYSCORE', k[state], '-inf', cutoff, 'LIMIT', 0, limit)
  delete_jobs(k[state], out)
elseif state == 'delayed' then
  for _, id in ipairs(redis.call('ZRANGE', k.delayed, 0, -1)) do
    if #out >= limit then break end
    if old_enough(id) then
      redis.call('ZREM', k.delayed, id)
      cancel(id)
      out[#out + 1] = id
    end
  end
elseif state == 'waiting' then
  for _, line in ipairs(waiting_lines()) do
    for _, id in ipairs(redis.call('ZRANGE', line[2], 0, -1)) do
      if #out >= limit then break end
      if old_enough(id) then
        remove_waiting(k, line[1], id)
        cancel(id)
        out[#out + 1] = id
      end
    end
  end
end
if #out > 0 and (state == 'waiting' or state == 'delayed') then
  -- The jobs just cancelled join the set that cancel.lua bounds; bound it here too.
  apply_retention(k.cancelled, tonumber(ARGV[5]), tonumber(ARGV[6]), now)
end
return out
