--[[
  Key groups: per-key limits from a job's options.group {id, concurrency, rateLimit}
  (not the tenant, which the other scripts call "group"). A job's hash holds its key
  group (keyGroup) and the limits it carries (kgConcurrency, kgRateMax, kgRateMs); per
  key group id:
  (keys: kg_key, kg_rate_key in includes/keys.lua, and k.kgactive)
    kg:<id>        hash: limits set at runtime (concurrency, rateMax, rateMs); these win
                   over the jobs' own. Only an admin writes it, so it stays small.
    kg:<id>:rate   zset: the key group's recent starts (its rate window; expires)
    kgactive       hash: key group id -> jobs active (deleted at 0)
  The meta field keyGroups is set once a job with a key group was added, so queues that
  never use them keep the plain claim path.
]]
-- A job was added with options `opts` (JSON): record its key group and its limits.
local function kg_added(jkey, opts)
  if not string.find(opts, '"group"', 1, true) then return end
  local g = cjson.decode(opts).group
  if type(g) ~= 'table' or type(g.id) ~= 'string' then return end
  redis.call('HSET', jkey, 'keyGroup', g.id)
  redis.call('HSET', k.meta, 'keyGroups', 1)
  if type(g.concurrency) == 'number' then
    redis.call('HSET', jkey, 'kgConcurrency', g.concurrency)
  end
  if type(g.rateLimit) == 'table' then
    redis.call('HSET', jkey, 'kgRateMax', g.rateLimit.max,
      'kgRateMs', g.rateLimit.durationMs or 1000)
  end
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

-- Job `job_id` of key group `id` started; rate_ms: its rate window (0: none).
local function kg_started(id, job_id, now, rate_ms)
  redis.call('HINCRBY', k.kgactive, id, 1)
  if rate_ms > 0 then
    local rkey = kg_rate_key(id)
    redis.call('ZADD', rkey, now, job_id .. ':' .. now)
    redis.call('PEXPIRE', rkey, rate_ms + 1000)
  end
end

-- `count` active jobs of key group `id` ended (settled, stalled, released).
local function kg_done(id, count)
  if not id or id == '' then return end
  local left = redis.call('HINCRBY', k.kgactive, id, -count)
  if left <= 0 then redis.call('HDEL', k.kgactive, id) end
end
