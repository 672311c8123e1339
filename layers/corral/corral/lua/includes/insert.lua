--[[
  A new job's hash, written in this one place (enqueue.lua, restore.lua, flow_add.lua),
  and the insert of a waiting or delayed job. Needs includes/keys.lua, groups.lua and
  key_groups.lua.

  j: {id, group, data (JSON), opts (JSON), priority, timeout (ms), created (ms),
      attempts_made, expires_at (ms, 0 = never), dedup (the dedup id it releases, or '')}
]]
local function job_fields(j, state)
  return {'data', j.data, 'opts', j.opts, 'group', j.group, 'priority', j.priority,
    'timeout', j.timeout, 'createdAt', j.created, 'attemptsMade', j.attempts_made,
    'stalls', 0, 'state', state, 'expiresAt', j.expires_at, 'dedup', j.dedup}
end

-- Insert job j: waiting (delay 0, at sequence seq) or delayed until now + delay.
local function insert_job(j, delay, now, seq, group_limit)
  local jkey = job_key(j.id)
  local state = 'waiting'
  if delay > 0 then state = 'delayed' end
  redis.call('HSET', jkey, unpack(job_fields(j, state)))
  kg_added(jkey, j.opts)
  if delay > 0 then
    redis.call('ZADD', k.delayed, now + delay, j.id)
  else
    push_waiting(k, j.group, j.id, wait_score(j.priority, seq), group_limit)
  end
end
