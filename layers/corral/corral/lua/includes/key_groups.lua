--[[
  Key groups: per-key limits from a job's options.group {id, concurrency, rateLimit}
  (not the tenant, which the other scripts call "group"). A job's hash holds its key
  group (keyGroup) and the limits it carries (kgConcurrency, kgRateMax, kgRateMs); its
  jobs wait in one lane per tenant (includes/groups.lua). Per key group id:
  (keys: kg_key, kg_rate_key, kg_parked_key, kg_held_key, kg_limited_key in
  includes/keys.lua, and k.kgactive)
    kg:<id>        hash: limits set at runtime (concurrency, rateMax, rateMs); these win
                   over the jobs' own. Only an admin writes it, so it stays small.
    kg:<id>:rate   zset: the key group's recent starts (its rate window; expires)
    kg:<id>:parked set: tenants whose lane of it waits for a slot or its rate window
    kgactive       hash: key group id -> jobs active (deleted at 0)
    kgheld         zset: key group id -> when its rate window lets the next job start
    kglimited      set: key group ids with limits set at runtime (for listings)
  A lane found at its key group's limit is parked; a job of the key group ending hands a
  parked lane back its turn per slot freed, and the claim hands all of them back once
  the rate window reopens (kgheld). The meta field keyGroups is set once a job with a
  key group was added, so queues that never use them keep the plain claim path.
]]
-- A job was added with options `opts` (JSON): record its key group and its limits.
-- Returns the key group's id, or nil if the job has none.
local function kg_added(jkey, opts)
  if not string.find(opts, '"group"', 1, true) then return nil end
  local g = cjson.decode(opts).group
  if type(g) ~= 'table' or type(g.id) ~= 'string' then return nil end
  redis.call('HSET', jkey, 'keyGroup', g.id)
  redis.call('HSET', k.meta, 'keyGroups', 1)
  if type(g.concurrency) == 'number' then
    redis.call('HSET', jkey, 'kgConcurrency', g.concurrency)
  end
  if type(g.rateLimit) == 'table' then
    redis.call('HSET', jkey, 'kgRateMax', g.rateLimit.max,
      'kgRateMs', g.rateLimit.durationMs or 1000)
  end
  return g.id
end

-- The limits in force for the key group of job `jkey`: {concurrency, rateMax, rateMs}
-- (0 = none). Set at runtime wins; else the job's own.
local function kg_limits(id, jkey)
  local r = redis.call('HMGET', kg_key(id), 'concurrency', 'rateMax', 'rateMs')
  local j = redis.call('HMGET', jkey, 'kgConcurrency', 'kgRateMax', 'kgRateMs')
  local concurrency = tonumber(r[1] or j[1] or '0')
  if r[2] then return concurrency, tonumber(r[2]), tonumber(r[3] or '1000') end
  return concurrency, tonumber(j[2] or '0'), tonumber(j[3] or '1000')
end

-- How many more jobs of key group `id` may start now (-1: no limit), under the limits
-- of job `jkey`, its next in line; the rate window (ms, 0: no rate limit); and if the
-- rate is what stops it, in how many ms the window lets the next one start (else 0).
local function kg_room(id, jkey, now)
  local concurrency, rate_max, rate_ms = kg_limits(id, jkey)
  local room = -1
  if concurrency > 0 then
    room = math.max(0, concurrency - tonumber(redis.call('HGET', k.kgactive, id) or '0'))
  end
  if rate_max <= 0 then return room, 0, 0 end
  local rkey = kg_rate_key(id)
  redis.call('ZREMRANGEBYSCORE', rkey, '-inf', now - rate_ms)
  local free = rate_max - redis.call('ZCARD', rkey)
  if free <= 0 then
    local oldest = redis.call('ZRANGE', rkey, 0, 0, 'WITHSCORES')
    return 0, rate_ms, math.max(1, tonumber(oldest[2]) + rate_ms - now)
  end
  if room < 0 or free < room then room = free end
  return room, rate_ms, 0
end

-- Jobs `ids` of key group `id` started; rate_ms: its rate window (0: none).
local function kg_started(id, ids, now, rate_ms)
  redis.call('HINCRBY', k.kgactive, id, #ids)
  if rate_ms > 0 then
    local rkey, log = kg_rate_key(id), {}
    for _, job_id in ipairs(ids) do
      log[#log + 1] = now
      log[#log + 1] = job_id .. ':' .. now
    end
    redis.call('ZADD', rkey, unpack(log))
    redis.call('PEXPIRE', rkey, rate_ms + 1000)
  end
end

-- Tenant `group`'s lane of key group `id` is held: out of turn until `wait` ms (0: until
-- one of the key group's jobs ends).
local function kg_park(group, id, wait, now)
  redis.call('SADD', kg_parked_key(id), group)
  if wait > 0 then
    local at = redis.call('ZSCORE', kg_held_key(), id)
    if not at or tonumber(at) > now + wait then
      redis.call('ZADD', kg_held_key(), now + wait, id)
    end
  end
end

-- Hand `count` (nil: all) parked lanes of key group `id` their turn back.
local function kg_unpark(id, count)
  local pkey = kg_parked_key(id)
  local tenants
  if count then
    tenants = redis.call('SPOP', pkey, count)
  else
    tenants = redis.call('SMEMBERS', pkey)
    redis.call('DEL', pkey)
  end
  if #tenants == 0 then return end
  for _, group in ipairs(tenants) do
    -- At its own limit, the claim parks the tenant when its turn comes.
    if lane_ready(group, id) then redis.call('RPUSH', k.ring, group) end
  end
  wake(k)
end

-- Key groups whose rate window reopened by `now`: their lanes take turns again.
local function kg_unpark_due(now)
  local due = redis.call('ZRANGEBYSCORE', kg_held_key(), '-inf', now, 'LIMIT', 0, 1000)
  if #due == 0 then return end
  redis.call('ZREM', kg_held_key(), unpack(due))
  for _, id in ipairs(due) do kg_unpark(id, nil) end
end

-- ms until the soonest rate window of a held key group reopens (-1: none).
local function kg_next_open(now)
  local first = redis.call('ZRANGE', kg_held_key(), 0, 0, 'WITHSCORES')
  if #first == 0 then return -1 end
  return math.max(1, tonumber(first[2]) - now)
end

-- `count` active jobs of key group `id` ended (settled, stalled, released): as many
-- parked lanes of it take turns again.
local function kg_done(id, count)
  if not id or id == '' then return end
  local left = redis.call('HINCRBY', k.kgactive, id, -count)
  if left <= 0 then redis.call('HDEL', k.kgactive, id) end
  kg_unpark(id, count)
end
