--[[
  Add a batch of jobs (one or many) to a queue.

  KEYS: prefix meta ring parked gactive delayed wake marker limits
  ARGV[1] now (ms)
  ARGV[2] group concurrency limit (0 = none)
  ARGV[3] number of jobs n
  ARGV[4] fields per job s: 12, or 3 when no job of the call sets an option of its own
  ARGV[5..] s fields per job:
    id, group, data (JSON), then (s = 12 only; these defaults when s = 3)
    opts (JSON, '' = default), priority (0), delay (ms, 0), timeout (ms, '' = default),
    expiresAt (ms, 0 = never), dedupId ('' = none), dedupMode (simple|throttle|debounce),
    dedupTtl (ms, 0 = none), customId (1 if the caller chose the id, else 0)
  ARGV[5 + sn] (optional) most waiting jobs per group (the tenant's quota; 0 = none)
  ARGV[6 + sn] (optional) 1: set the queue's marker (index_marker.py) and report
    whether it was missing
  ARGV[7 + sn], ARGV[8 + sn] (optional) the queue's default opts (JSON) and timeout (ms):
    a job whose opts or timeout is '' takes them (includes/job.lua)

  Returns {lost, id, code, ...}: lost is 1 if the marker was missing (Redis lost the
  queue, or this is its first use), else 0; then one pair per job, its code:
    1  added
    0  duplicate: id is the existing job's, nothing changed
    2  debounced: the existing delayed job (id) took the new data and restarted its delay
  or {-8, waiting}: a group would pass its waiting quota; nothing was written.
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/key_groups.lua
--@include includes/job.lua

local now = tonumber(ARGV[1])
-- The group limit in force, read only if a group starts waiting (push_waiting).
local limit_in_force = nil
local function group_limit()
  if not limit_in_force then limit_in_force = group_limit_in_force(k, tonumber(ARGV[2])) end
  return limit_in_force
end
local n, stride = tonumber(ARGV[3]), tonumber(ARGV[4])
local tail = 5 + n * stride
local max_waiting = tonumber(ARGV[tail] or '0')

-- Job i's fields (0-based): id, group, data, opts, priority, delay, timeout, expiresAt,
-- dedupId, dedupMode, dedupTtl, customId.
local function read_job(i)
  local b = 5 + i * stride
  if stride == 3 then
    return ARGV[b], ARGV[b + 1], ARGV[b + 2], '', 0, 0, '', '0', '', '', 0, '0'
  end
  return ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], tonumber(ARGV[b + 4]),
    tonumber(ARGV[b + 5]), ARGV[b + 6], ARGV[b + 7], ARGV[b + 8], ARGV[b + 9],
    tonumber(ARGV[b + 10]), ARGV[b + 11]
end

-- The quota is checked before anything is written, for the whole batch at once.
if max_waiting > 0 then
  local adding = {}
  for i = 0, n - 1 do
    local _, group, _, _, _, delay = read_job(i)
    if delay <= 0 then
      adding[group] = (adding[group] or 0) + 1
    end
  end
  for group, count in pairs(adding) do
    local waiting = waiting_count(group)
    if waiting + count > max_waiting then
      return {-8, waiting}
    end
  end
end

local lost = 0
if ARGV[tail + 1] == '1' and redis.call('SET', k.marker, '1', 'NX') then lost = 1 end
-- The defaults of the jobs that leave their opts or timeout out (includes/job.lua),
-- written on every call: any script that moves a job may be the first after Redis lost
-- the queue, and every job added with '' must find them.
if ARGV[tail + 2] then
  redis.call('HSET', k.meta, 'opts', ARGV[tail + 2], 'timeout', ARGV[tail + 3])
end

local seq = next_seq(k, n)
local out = {lost}
local woke = false

local function find_duplicate(dedup_id, mode, data, opts, delay, ttl)
  local dkey = dedup_key(dedup_id)
  local existing = redis.call('GET', dkey)
  if not existing then return nil end
  local state = redis.call('HGET', job_key(existing), 'state')
  if not state then return nil end
  if mode ~= 'debounce' then return existing, 0 end
  if state ~= 'delayed' and state ~= 'waiting' then return nil end
  redis.call('HSET', job_key(existing), 'data', data)
  set_job_opts(job_key(existing), opts)
  -- It has not started: the new options' key group and limits replace the old ones, and
  -- a waiting job moves to the new key group's lane, keeping its place.
  local group, score = redis.call('HGET', job_key(existing), 'group'), nil
  if state == 'waiting' then score = remove_waiting(k, group, existing) end
  redis.call('HDEL', job_key(existing), 'keyGroup', 'kgConcurrency', 'kgRateMax', 'kgRateMs')
  kg_added(job_key(existing), opts)
  if delay > 0 then
    if state == 'waiting' then redis.call('HSET', job_key(existing), 'state', 'delayed') end
    redis.call('ZADD', k.delayed, now + delay, existing)
  elseif score then
    push_waiting(k, group, existing, tonumber(score), group_limit)
  end
  if ttl > 0 then redis.call('PEXPIRE', dkey, ttl) end
  return existing, 2
end

for i = 0, n - 1 do
  local id, group, data, opts, priority, delay, timeout, expires_at, dedup_id, mode,
    dedup_ttl, custom = read_job(i)
  local existing, code = nil, nil
  if dedup_id ~= '' then
    existing, code = find_duplicate(dedup_id, mode, data, opts, delay, dedup_ttl)
  end
  if not existing and custom == '1' and redis.call('EXISTS', job_key(id)) == 1 then
    existing, code = id, 0
  end
  if existing then
    out[#out + 1] = existing
    out[#out + 1] = code
  else
    local release = ''
    if dedup_id ~= '' and mode ~= 'throttle' then release = dedup_id end
    insert_job({id = id, group = group, data = data, opts = opts, priority = priority,
      timeout = timeout, created = ARGV[1], attempts_made = 0, expires_at = expires_at,
      dedup = release}, delay, now, seq + i, group_limit)
    woke = true
    if dedup_id ~= '' then
      local dkey = dedup_key(dedup_id)
      if dedup_ttl > 0 then
        redis.call('SET', dkey, id, 'PX', dedup_ttl)
      else
        redis.call('SET', dkey, id)
      end
    end
    out[#out + 1] = id
    out[#out + 1] = 1
  end
end
if woke then wake(k) end
return out
