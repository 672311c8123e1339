--[[
  Key groups: per-key limits set by a job's options.group {id, concurrency, rateLimit}
  (not the tenant, which the other scripts call "group"). A job's key group is the
  field keyGroup of its hash. Per key group id:
    kg:<id>        hash: limits carried by jobs (jobConcurrency, jobRateMax, jobRateMs)
                   and set at runtime (concurrency, rateMax, rateMs; these win)
    kg:<id>:rate   zset: the key group's recent starts (its rate window)
    kgactive       hash: key group id -> jobs active
  The meta field keyGroups is set once a job with a key group was added, so queues that
  never use them keep the plain claim path.
]]
local function kg_key(id)
  return k.prefix .. 'kg:' .. id
end

local function kg_rate_key(id)
  return k.prefix .. 'kg:' .. id .. ':rate'
end

local function kg_active_key()
  return k.prefix .. 'kgactive'
end

-- A job was added with options `opts` (JSON): record its key group and the limits it carries.
local function kg_added(jkey, opts)
  if not string.find(opts, '"group"', 1, true) then return end
  local o = cjson.decode(opts)
  local g = o.group
  if type(g) ~= 'table' or type(g.id) ~= 'string' then return end
  redis.call('HSET', jkey, 'keyGroup', g.id)
  redis.call('HSET', k.meta, 'keyGroups', 1)
  if type(g.concurrency) == 'number' then
    redis.call('HSET', kg_key(g.id), 'jobConcurrency', g.concurrency)
  end
  if type(g.rateLimit) == 'table' then
    redis.call('HSET', kg_key(g.id), 'jobRateMax', g.rateLimit.max,
      'jobRateMs', g.rateLimit.durationMs or 1000)
  end
end

-- The limits in force: {concurrency, rateMax, rateMs}, 0 = none; runtime ones win.
local function kg_limits(id)
  local r = redis.call('HMGET', kg_key(id), 'concurrency', 'rateMax', 'rateMs',
    'jobConcurrency', 'jobRateMax', 'jobRateMs')
  local concurrency = tonumber(r[1] or r[4] or '0')
  if r[2] then return concurrency, tonumber(r[2]), tonumber(r[3] or '1000') end
  return concurrency, tonumber(r[5] or '0'), tonumber(r[6] or '1000')
end

-- How many more jobs of key group `id` may start now, and if the rate is what stops it,
-- in how many ms its window lets the next one start (0 otherwise). -1 = no limit.
local function kg_room(id, now)
  local concurrency, rate_max, rate_ms = kg_limits(id)
  local room = -1
  if concurrency > 0 then
    room = math.max(0, concurrency - tonumber(redis.call('HGET', kg_active_key(), id) or '0'))
  end
  if rate_max > 0 then
    local rkey = kg_rate_key(id)
    redis.call('ZREMRANGEBYSCORE', rkey, '-inf', now - rate_ms)
    local free = rate_max - redis.call('ZCARD', rkey)
    if free <= 0 then
      local oldest = redis.call('ZRANGE', rkey, 0, 0, 'WITHSCORES')
      return 0, math.max(1, tonumber(oldest[2]) + rate_ms - now)
    end
    if room < 0 or free < room then room = free end
  end
  return room, 0
end

local function kg_started(id, job_id, now)
  redis.call('HINCRBY', kg_active_key(), id, 1)
  local _, rate_max, rate_ms = kg_limits(id)
  if rate_max > 0 then
    local rkey = kg_rate_key(id)
    redis.call('ZADD', rkey, now, job_id .. ':' .. now)
    redis.call('PEXPIRE', rkey, rate_ms + 1000)
  end
end

-- `count` active jobs of key group `id` ended (settled, stalled, released).
local function kg_done(id, count)
  if not id or id == '' then return end
  local left = redis.call('HINCRBY', kg_active_key(), id, -count)
  if left <= 0 then redis.call('HDEL', kg_active_key(), id) end
end
