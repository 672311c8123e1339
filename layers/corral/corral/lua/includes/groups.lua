--[[
  Group bookkeeping shared by the scripts that add or remove waiting jobs.

  A group (tenant) with waiting jobs sits in exactly one of two places: the ring
  (a list served round-robin by claim) or the parked set (at its concurrency limit).
  A group with no waiting jobs is in neither. Group keys: group_key (includes/keys.lua).

  Within a tenant, jobs wait in lanes: group_key holds its jobs without a key group
  (options.group), and lane_key one per key group. A tenant that has key group lanes
  keeps them in turn in kring_key (a list; '' names group_key, and is in it exactly when
  that zset is not empty), served round-robin as tenants are. A lane whose key group is
  at its limit leaves the turn and waits in kg_parked_key (includes/key_groups.lua) until
  a slot or its rate window frees. A tenant is in the ring or parked exactly when its
  group_key or kring_key exists. Beside them (includes/keys.lua):
    kg_lanes_key    set: "<tenant>:<key>" of every lane holding jobs (counts, listings)
    kg_waiting_key  hash: tenant -> jobs waiting in its key group lanes (its quota)
]]
local function place_group(k, group, group_limit, active)
  if group_limit > 0 and active >= group_limit then
    redis.call('SADD', k.parked, group)
  else
    redis.call('RPUSH', k.ring, group)
  end
end

-- Score: priority first (lower runs first), then FIFO by sequence number.
local function wait_score(priority, seq)
  return priority * 4294967296 + (seq % 4294967296)
end

-- The zset where waiting job `id` of `group` is (its key group's lane, or the tenant's).
local function waiting_key(group, id)
  local kid = redis.call('HGET', job_key(id), 'keyGroup')
  if kid then return lane_key(group, kid), kid end
  return group_key(group), nil
end

local function tenant_waits(group)
  return redis.call('EXISTS', group_key(group), kring_key(group)) > 0
end

-- Key group `kid`'s lane of `group` takes its turn again; true if the tenant had no turn.
local function lane_ready(group, kid)
  local rkey = kring_key(group)
  if redis.call('EXISTS', rkey) == 1 then
    redis.call('RPUSH', rkey, kid)
    return false
  end
  if redis.call('EXISTS', group_key(group)) == 1 then
    redis.call('RPUSH', rkey, '', kid)
    return false
  end
  redis.call('RPUSH', rkey, kid)
  return true
end

-- group_limit: the limit in force, or a function that reads it (only a group that starts
-- waiting needs it). known_kid: the job's key group id, or false for none, when the
-- caller just wrote it (nil: read from the job's hash).
local function push_waiting(k, group, id, score, group_limit, known_kid)
  local zkey, kid
  if known_kid == nil then
    zkey, kid = waiting_key(group, id)
  elseif known_kid then
    zkey, kid = lane_key(group, known_kid), known_kid
  else
    zkey = group_key(group)
  end
  redis.call('ZADD', zkey, score, id)
  if kid then redis.call('HINCRBY', kg_waiting_key(), group, 1) end
  if redis.call('ZCARD', zkey) > 1 then return end
  local placed
  if kid then
    redis.call('SADD', kg_lanes_key(), group .. ':' .. kid)
    placed = lane_ready(group, kid)
  elseif redis.call('EXISTS', kring_key(group)) == 1 then
    redis.call('RPUSH', kring_key(group), '')
    placed = false
  else
    placed = true
  end
  if placed then
    if type(group_limit) == 'function' then group_limit = group_limit() end
    local active = tonumber(redis.call('HGET', k.gactive, group) or '0')
    place_group(k, group, group_limit, active)
  end
end

-- `count` jobs left key group `kid`'s lane of `group` (started, cancelled, moved).
local function lane_taken(group, count)
  local left = redis.call('HINCRBY', kg_waiting_key(), group, -count)
  if left <= 0 then redis.call('HDEL', kg_waiting_key(), group) end
end

local function forget_group_if_empty(k, group)
  if redis.call('EXISTS', group_key(group)) == 1 then return end
  local rkey = kring_key(group)
  redis.call('LREM', rkey, 0, '')
  if redis.call('EXISTS', rkey) == 0 then
    redis.call('LREM', k.ring, 0, group)
    redis.call('SREM', k.parked, group)
  end
end

-- A lane emptied: out of its tenant's turn, of its key group's parked set, of the lanes.
local function forget_lane(k, group, kid)
  redis.call('SREM', kg_lanes_key(), group .. ':' .. kid)
  redis.call('LREM', kring_key(group), 0, kid)
  redis.call('SREM', kg_parked_key(kid), group)
  forget_group_if_empty(k, group)
end

-- Take waiting job `id` of `group` out of its line (cancelled, delayed, changed); its
-- score, or nil if it was not waiting there.
local function remove_waiting(k, group, id)
  local zkey, kid = waiting_key(group, id)
  local score = redis.call('ZSCORE', zkey, id)
  if not score and kid then
    -- Added before key groups had lanes: it waits among the tenant's own jobs.
    zkey, kid = group_key(group), nil
    score = redis.call('ZSCORE', zkey, id)
  end
  if not score then return nil end
  redis.call('ZREM', zkey, id)
  if not kid then
    forget_group_if_empty(k, group)
    return score
  end
  lane_taken(group, 1)
  if redis.call('EXISTS', zkey) == 0 then forget_lane(k, group, kid) end
  return score
end

-- Jobs waiting in `group`'s lines, for its quota.
local function waiting_count(group)
  return redis.call('ZCARD', group_key(group))
    + tonumber(redis.call('HGET', kg_waiting_key(), group) or '0')
end

-- Runtime limits (set_limits.lua, PATCH /queues/{q}) live in the hash k.limits; a field
-- it holds wins over the deployed value its script was given.
local function group_limit_in_force(k, deployed)
  local runtime = redis.call('HGET', k.limits, 'groupConcurrency')
  if runtime then return tonumber(runtime) end
  return deployed
end

local function next_seq(k, count)
  local seq = redis.call('HINCRBY', k.meta, 'seq', count)
  -- The queue's first jobs: none of its log lists can predate the logs field that
  -- append_logs.lua sets (includes/retention.lua), so retention may trust that field.
  if seq == count then redis.call('HSET', k.meta, 'logsTracked', '1') end
  return seq - count
end

local function wake(k)
  if redis.call('LLEN', k.wake) == 0 then
    redis.call('LPUSH', k.wake, '1')
  end
end

local function release_dedup(k, dedup_id, id)
  if dedup_id and dedup_id ~= '' then
    local dkey = dedup_key(dedup_id)
    if redis.call('GET', dkey) == id then
      redis.call('DEL', dkey)
    end
  end
end

-- A group finished `count` active jobs: lower its active count and unpark it if it
-- dropped under its limit while it still has waiting jobs.
local function group_done(k, group, count, group_limit)
  local left = redis.call('HINCRBY', k.gactive, group, -count)
  if left <= 0 then redis.call('HDEL', k.gactive, group) end
  if group_limit > 0 and left < group_limit and redis.call('SREM', k.parked, group) == 1 then
    redis.call('RPUSH', k.ring, group)
  end
end
