--[[
  Group bookkeeping shared by the scripts that add or remove waiting jobs.

  A group (tenant) with waiting jobs sits in exactly one of two places: the ring
  (a list served round-robin by claim) or the parked set (at its concurrency limit).
  A group with no waiting jobs is in neither. Job and group keys are built from the
  queue prefix, so every key shares the queue's hash tag.

  Within a tenant, jobs wait in lanes: group:<tenant> holds its jobs without a key group
  (options.group), and group:<tenant>:kg:<key> each key group's. A tenant that has key
  group lanes keeps them in turn in kring:<tenant> (a list; '' names group:<tenant>, and
  is in it exactly when that zset is not empty), served round-robin as tenants are. A
  lane whose key group is at its limit leaves the turn and waits in kg:<key>:parked
  (includes/key_groups.lua) until a slot or its rate window frees. A tenant is in the
  ring or parked exactly when group:<tenant> or kring:<tenant> exists. Beside them:
    kglanes    set: "<tenant>:<key>" of every lane holding jobs (for counts and listings)
    kgwaiting  hash: tenant -> jobs waiting in its key group lanes (for its quota)
]]
local function group_key(prefix, group)
  return prefix .. 'group:' .. group
end

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

local function lane_key(prefix, group, kid)
  return prefix .. 'group:' .. group .. ':kg:' .. kid
end

local function kring_key(prefix, group)
  return prefix .. 'kring:' .. group
end

-- The zset where waiting job `id` of `group` is (its key group's lane, or the tenant's).
local function waiting_key(k, group, id)
  local kid = redis.call('HGET', job_key(id), 'keyGroup')
  if kid then return lane_key(k.prefix, group, kid), kid end
  return group_key(k.prefix, group), nil
end

local function tenant_waits(k, group)
  return redis.call('EXISTS', group_key(k.prefix, group), kring_key(k.prefix, group)) > 0
end

-- Key group `kid`'s lane of `group` takes its turn again; true if the tenant had no turn.
local function lane_ready(k, group, kid)
  local rkey = kring_key(k.prefix, group)
  if redis.call('EXISTS', rkey) == 1 then
    redis.call('RPUSH', rkey, kid)
    return false
  end
  if redis.call('EXISTS', group_key(k.prefix, group)) == 1 then
    redis.call('RPUSH', rkey, '', kid)
    return false
  end
  redis.call('RPUSH', rkey, kid)
  return true
end

local function push_waiting(k, group, id, score, group_limit)
  local zkey, kid = waiting_key(k, group, id)
  redis.call('ZADD', zkey, score, id)
  if kid then redis.call('HINCRBY', k.prefix .. 'kgwaiting', group, 1) end
  if redis.call('ZCARD', zkey) > 1 then return end
  local placed
  if kid then
    redis.call('SADD', k.prefix .. 'kglanes', group .. ':' .. kid)
    placed = lane_ready(k, group, kid)
  elseif redis.call('EXISTS', kring_key(k.prefix, group)) == 1 then
    redis.call('RPUSH', kring_key(k.prefix, group), '')
    placed = false
  else
    placed = true
  end
  if placed then
    local active = tonumber(redis.call('HGET', k.gactive, group) or '0')
    place_group(k, group, group_limit, active)
  end
end

-- `count` jobs left key group `kid`'s lane of `group` (started, cancelled, moved).
local function lane_taken(k, group, kid, count)
  local left = redis.call('HINCRBY', k.prefix .. 'kgwaiting', group, -count)
  if left <= 0 then redis.call('HDEL', k.prefix .. 'kgwaiting', group) end
end

local function forget_group_if_empty(k, group)
  if redis.call('EXISTS', group_key(k.prefix, group)) == 1 then return end
  local rkey = kring_key(k.prefix, group)
  redis.call('LREM', rkey, 0, '')
  if redis.call('EXISTS', rkey) == 0 then
    redis.call('LREM', k.ring, 0, group)
    redis.call('SREM', k.parked, group)
  end
end

-- A lane emptied: out of its tenant's turn, of its key group's parked set, of kglanes.
local function forget_lane(k, group, kid)
  redis.call('SREM', k.prefix .. 'kglanes', group .. ':' .. kid)
  redis.call('LREM', kring_key(k.prefix, group), 0, kid)
  redis.call('SREM', k.prefix .. 'kg:' .. kid .. ':parked', group)
  forget_group_if_empty(k, group)
end

-- Take waiting job `id` of `group` out of its line (cancelled, delayed, changed); its
-- score, or nil if it was not waiting there.
local function remove_waiting(k, group, id)
  local zkey, kid = waiting_key(k, group, id)
  local score = redis.call('ZSCORE', zkey, id)
  if not score then return nil end
  redis.call('ZREM', zkey, id)
  if not kid then
    forget_group_if_empty(k, group)
    return score
  end
  lane_taken(k, group, kid, 1)
  if redis.call('EXISTS', zkey) == 0 then forget_lane(k, group, kid) end
  return score
end

-- Jobs waiting in `group`'s lines, for its quota.
local function waiting_count(k, group)
  return redis.call('ZCARD', group_key(k.prefix, group))
    + tonumber(redis.call('HGET', k.prefix .. 'kgwaiting', group) or '0')
end

-- Runtime limits (set_limits.lua, PATCH /queues/{q}) live in this hash; a field it holds
-- wins over the deployed value its script was given.
local function limits_key(k)
  return k.prefix .. 'limits'
end

local function group_limit_in_force(k, deployed)
  local runtime = redis.call('HGET', limits_key(k), 'groupConcurrency')
  if runtime then return tonumber(runtime) end
  return deployed
end

local function next_seq(k, count)
  return redis.call('HINCRBY', k.meta, 'seq', count) - count
end

local function wake(k)
  if redis.call('LLEN', k.wake) == 0 then
    redis.call('LPUSH', k.wake, '1')
  end
end

local function release_dedup(k, dedup_id, id)
  if dedup_id and dedup_id ~= '' then
    local dkey = k.prefix .. 'dedup:' .. dedup_id
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
