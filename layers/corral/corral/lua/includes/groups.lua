--[[
  Group bookkeeping shared by the scripts that add or remove waiting jobs.

  A group (tenant) with waiting jobs sits in exactly one of two places: the ring
  (a list served round-robin by claim) or the parked set (at its concurrency limit).
  A group with no waiting jobs is in neither. Group keys: group_key (includes/keys.lua).
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

local function push_waiting(k, group, id, score, group_limit)
  local gkey = group_key(group)
  redis.call('ZADD', gkey, score, id)
  if redis.call('ZCARD', gkey) == 1 then
    local active = tonumber(redis.call('HGET', k.gactive, group) or '0')
    place_group(k, group, group_limit, active)
  end
end

local function forget_group_if_empty(k, group)
  if redis.call('EXISTS', group_key(group)) == 0 then
    redis.call('LREM', k.ring, 0, group)
    redis.call('SREM', k.parked, group)
  end
end

-- Runtime limits (set_limits.lua, PATCH /queues/{q}) live in the hash k.limits; a field
-- it holds wins over the deployed value its script was given.
local function group_limit_in_force(k, deployed)
  local runtime = redis.call('HGET', k.limits, 'groupConcurrency')
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
