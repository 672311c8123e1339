--[[
  Recover stalled jobs: active jobs whose lease ran out because their worker died or
  hung. Each stall counts; the claim already counted the attempt. A job goes back to
  waiting, or fails for good once it has stalled more than maxStalls times or used
  all its attempts.

  KEYS: prefix meta ring parked gactive active failed wake limits kgactive
  ARGV[1] now (ms)   ARGV[2] max stalls   ARGV[3] most jobs to recover
  ARGV[4] group concurrency (0 = none)

  Returns {requeued ids, failed ids}.
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/key_groups.lua
--@include includes/job.lua

local now, max_stalls = tonumber(ARGV[1]), tonumber(ARGV[2])
local group_limit = group_limit_in_force(k, tonumber(ARGV[4]))
local stalled = redis.call('ZRANGEBYSCORE', k.active, '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local requeued, failed = {}, {}
if #stalled == 0 then return {requeued, failed} end
local seq = next_seq(k, #stalled)
redis.call('ZREM', k.active, unpack(stalled))
for i, id in ipairs(stalled) do
  local jkey = job_key(id)
  local f = redis.call('HMGET', jkey, 'group', 'priority', 'attemptsMade', 'stalls', 'opts', 'dedup',
    'keyGroup')
  group_done(k, f[1], 1, group_limit)
  kg_done(f[7], 1)
  local stalls = tonumber(f[4] or '0') + 1
  local attempts = tonumber(cjson.decode(job_opts(f[5])).attempts or 1)
  if stalls > max_stalls or tonumber(f[3] or '0') >= attempts then
    redis.call('HSET', jkey, 'state', 'failed', 'stalls', stalls, 'lock', '', 'finishedAt', now,
      'error', '{"message":"job stalled: its lease expired","type":"StalledError"}')
    redis.call('ZADD', k.failed, now, id)
    release_dedup(k, f[6], id)
    failed[#failed + 1] = id
  else
    redis.call('HSET', jkey, 'state', 'waiting', 'stalls', stalls, 'lock', '')
    push_waiting(k, f[1], id, wait_score(tonumber(f[2] or '0'), seq + i), group_limit)
    requeued[#requeued + 1] = id
  end
end
if #requeued > 0 then wake(k) end
return {requeued, failed}
