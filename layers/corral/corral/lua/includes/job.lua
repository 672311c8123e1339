--[[
  A job's hash: written in this one place (enqueue.lua, restore.lua, flow_add.lua), and
  read with its defaults. A field that holds its default is left out, so that a waiting
  job's hash stays small (a listpack): priority, attemptsMade, stalls and expiresAt 0, no
  dedup id, and the queue's default opts and timeout, which enqueue.lua keeps in k.meta
  (fields opts and timeout). Needs includes/keys.lua; insert_job also groups.lua and
  key_groups.lua.

  j: {id, group, data (JSON), opts (JSON, '' = the queue's default), priority,
      timeout (ms, '' = the queue's default), created (ms), attempts_made,
      expires_at (ms, 0 = never), dedup (the dedup id it releases, or '')}
]]
local function job_fields(j, state)
  local f = {'data', j.data, 'group', j.group, 'createdAt', j.created, 'state', state}
  -- Numbers are compared as numbers: turning one into a string costs Redis a printf.
  if j.opts ~= nil and j.opts ~= '' then f[#f + 1], f[#f + 2] = 'opts', j.opts end
  if j.timeout ~= nil and j.timeout ~= '' then f[#f + 1], f[#f + 2] = 'timeout', j.timeout end
  if tonumber(j.priority or 0) ~= 0 then f[#f + 1], f[#f + 2] = 'priority', j.priority end
  if tonumber(j.attempts_made or 0) ~= 0 then
    f[#f + 1], f[#f + 2] = 'attemptsMade', j.attempts_made
  end
  if tonumber(j.expires_at or 0) ~= 0 then f[#f + 1], f[#f + 2] = 'expiresAt', j.expires_at end
  if j.dedup ~= nil and j.dedup ~= '' then f[#f + 1], f[#f + 2] = 'dedup', j.dedup end
  return f
end

-- The queue's defaults, read once per script call.
local defaults = nil
local function queue_defaults()
  if not defaults then defaults = redis.call('HMGET', k.meta, 'opts', 'timeout') end
  return defaults
end

-- A job's opts (JSON) from its raw field: its own, or the queue's default.
local function job_opts(raw)
  return raw or queue_defaults()[1]
end

-- A job's timeout (ms) from its raw field: its own, or the queue's default.
local function job_timeout(raw)
  return tonumber(raw or queue_defaults()[2])
end

-- Replace a job's opts ('' = the queue's default).
local function set_job_opts(jkey, opts)
  if opts == '' then
    redis.call('HDEL', jkey, 'opts')
  else
    redis.call('HSET', jkey, 'opts', opts)
  end
end

-- Insert job j: waiting (delay 0, at sequence seq) or delayed until now + delay.
-- group_limit as push_waiting (includes/groups.lua) takes it.
local function insert_job(j, delay, now, seq, group_limit)
  local jkey = job_key(j.id)
  local state = 'waiting'
  if delay > 0 then state = 'delayed' end
  redis.call('HSET', jkey, unpack(job_fields(j, state)))
  local kid = kg_added(jkey, j.opts)
  if delay > 0 then
    redis.call('ZADD', k.delayed, now + delay, j.id)
  else
    push_waiting(k, j.group, j.id, wait_score(j.priority, seq), group_limit, kid or false)
  end
end
