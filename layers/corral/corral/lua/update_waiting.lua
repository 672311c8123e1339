--[[
  Change a job that has not started (waiting or delayed): its data, its priority, or
  when it may run. A waiting job keeps its place among jobs of its priority.

  KEYS: prefix meta ring parked gactive delayed wake limits
  ARGV[1] now (ms)   ARGV[2] job id   ARGV[3] group concurrency limit (0 = none)
  ARGV[4] data JSON ('' = keep)   ARGV[5] priority ('' = keep)
  ARGV[6] delay, ms from now ('' = keep; 0 = may run now)

  The job's options keep priority and delay as enqueue set them; delay stays measured
  from the job's creation, so a restore from the job table keeps the new due time.

  Returns {1, opts JSON, data JSON}; or -1 no such job, -3 it is running,
  -4 it already finished.
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/job.lua

local now, id = tonumber(ARGV[1]), ARGV[2]
local group_limit = group_limit_in_force(k, tonumber(ARGV[3]))
local data, priority, delay = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local jkey = job_key(id)
local f = redis.call('HMGET', jkey, 'state', 'group', 'priority', 'opts', 'createdAt')
local state, group = f[1], f[2]
if not state then return -1 end
if state == 'active' then return -3 end
if state ~= 'waiting' and state ~= 'delayed' then return -4 end

local opts = cjson.decode(job_opts(f[4]))
local gkey = waiting_key(group, id)
if data ~= '' then redis.call('HSET', jkey, 'data', data) end
if priority then
  redis.call('HSET', jkey, 'priority', priority)
  opts.priority = priority
  if state == 'waiting' then
    -- Same sequence number (the score's low part), new priority (its high part).
    local score = tonumber(redis.call('ZSCORE', gkey, id))
    redis.call('ZADD', gkey, priority * 4294967296 + score % 4294967296, id)
  end
else
  priority = tonumber(f[3] or '0')
end
if delay then
  opts.delay = now + delay - tonumber(f[5])
  if delay > 0 then
    if state == 'waiting' then
      remove_waiting(k, group, id)
      redis.call('HSET', jkey, 'state', 'delayed')
    end
    redis.call('ZADD', k.delayed, now + delay, id)
  elseif state == 'delayed' then
    redis.call('ZREM', k.delayed, id)
    redis.call('HSET', jkey, 'state', 'waiting')
    push_waiting(k, group, id, wait_score(priority, next_seq(k, 1)), group_limit)
    wake(k)
  end
end
local encoded = cjson.encode(opts)
redis.call('HSET', jkey, 'opts', encoded)
return {1, encoded, redis.call('HGET', jkey, 'data')}
