--[[
  Claim: promote due delayed jobs, then hand out up to n waiting jobs under the queue's
  limits, serving groups round-robin. Used by claim.lua and settle.lua.

  Returns {code, hintMs, claimed, expired}:
    code 1 claimed at least one job; 0 nothing waiting (hintMs: time until the next
    delayed job is due, -1 if none); 2 paused; 3 rate limited (hintMs: until the next
    token); 4 at global concurrency; 5 jobs wait, but every waiting group is at its
    concurrency limit. For 4 and 5, hintMs is the time until the earliest lease runs out
    (0: one already has, so recover.lua frees its slot; -1: no lease held).
    claimed: flat {id, data, opts, attempt, group, createdAt, ...}
    expired: ids whose ttl ran out before they started (now failed)
]]
local function promote_due(now, group_limit)
  local due = redis.call('ZRANGEBYSCORE', k.delayed, '-inf', now, 'LIMIT', 0, 1000)
  if #due == 0 then return end
  local seq = next_seq(k, #due)
  for i, id in ipairs(due) do
    local f = redis.call('HMGET', job_key(id), 'group', 'priority')
    redis.call('HSET', job_key(id), 'state', 'waiting')
    push_waiting(k, f[1], id, wait_score(tonumber(f[2] or '0'), seq + i), group_limit)
  end
  redis.call('ZREM', k.delayed, unpack(due))
end

local function next_due_hint(now)
  local first = redis.call('ZRANGE', k.delayed, 0, 0, 'WITHSCORES')
  if #first == 0 then return -1 end
  return math.max(0, tonumber(first[2]) - now)
end

-- Slots held by leases free up when a lease ends: a worker that died leaves its lease to
-- run out, and the claimer needs to know when, to recover the job instead of leaving.
local function lease_hint(now)
  local first = redis.call('ZRANGE', k.active, 0, 0, 'WITHSCORES')
  if #first == 0 then return -1 end
  return math.max(0, tonumber(first[2]) - now)
end

local function room_under_limits(n, now, concurrency, rate_max, rate_ms)
  if concurrency > 0 then
    local free = concurrency - redis.call('ZCARD', k.active)
    if free <= 0 then return 0, 4, lease_hint(now) end
    n = math.min(n, free)
  end
  if rate_max > 0 then
    redis.call('ZREMRANGEBYSCORE', k.limiter, '-inf', now - rate_ms)
    local free = rate_max - redis.call('ZCARD', k.limiter)
    if free <= 0 then
      local oldest = redis.call('ZRANGE', k.limiter, 0, 0, 'WITHSCORES')
      return 0, 3, math.max(1, tonumber(oldest[2]) + rate_ms - now)
    end
    n = math.min(n, free)
  end
  return n, 1, 0
end

local function start_job(id, group, now, worker, lease_cap, lease_margin, claimed, leases)
  local jkey = job_key(id)
  local f = redis.call('HMGET', jkey, 'data', 'opts', 'attemptsMade', 'expiresAt', 'createdAt',
    'timeout', 'dedup')
  local opts, made = job_opts(f[2]), f[3] or '0'
  local expires_at = tonumber(f[4] or '0')
  -- ttl bounds the wait before the first start; a retry of a started job never expires.
  if expires_at > 0 and expires_at < now and made == '0' then
    local ok, decoded = pcall(cjson.decode, opts)
    local ttl = ok and type(decoded) == 'table' and tonumber(decoded.ttl) or 0
    local message = string.format('expired: ttl %d ms ran out %d ms before a poller reached it',
      ttl, now - expires_at)
    redis.call('HSET', jkey, 'state', 'failed', 'finishedAt', now,
      'error', cjson.encode({message = message, type = 'ExpiredError'}))
    redis.call('ZADD', k.failed, now, id)
    release_dedup(k, f[7], id)
    return false
  end
  local attempt = tonumber(made) + 1
  redis.call('HSET', jkey, 'state', 'active', 'attemptsMade', attempt,
    'lock', worker .. ':' .. attempt, 'processedAt', now)
  local lease = math.min(job_timeout(f[6]), lease_cap) + lease_margin
  leases[#leases + 1] = now + lease
  leases[#leases + 1] = id
  local c = #claimed
  claimed[c + 1], claimed[c + 2], claimed[c + 3] = id, f[1], opts
  claimed[c + 4], claimed[c + 5], claimed[c + 6] = attempt, group, f[5]
  return true
end

-- Key groups (includes/key_groups.lua): a tenant's next jobs whose key groups have room,
-- in the tenant's order, looking at most KG_SCAN jobs deep. kg.rooms caches, for this
-- claim, each key group's {room, rate_ms}; kg.hint keeps the soonest time a rate window lets
-- one start. Returns {id, key group or false, ...}.
local KG_SCAN = 100
local function kg_pick(gkey, take, now, kg)
  local picked, ids = {}, {}
  for _, id in ipairs(redis.call('ZRANGE', gkey, 0, KG_SCAN - 1)) do
    if #ids >= take then break end
    local jkey = job_key(id)
    local kid = redis.call('HGET', jkey, 'keyGroup')
    if kid and kg.rooms[kid] == nil then
      local room, rate_ms, wait = kg_room(kid, jkey, now)
      kg.rooms[kid] = {room, rate_ms}
      if wait > 0 and (kg.hint < 0 or wait < kg.hint) then kg.hint = wait end
    end
    if not kid or kg.rooms[kid][1] ~= 0 then
      ids[#ids + 1] = id
      picked[#picked + 1] = id
      picked[#picked + 1] = kid
      if kid and kg.rooms[kid][1] > 0 then kg.rooms[kid][1] = kg.rooms[kid][1] - 1 end
    end
  end
  if #ids > 0 then redis.call('ZREM', gkey, unpack(ids)) end
  return picked
end

-- a: {now, worker, n, lease_cap, lease_margin, concurrency, group_limit, rate_max, rate_ms}
local function claim_batch(a)
  local now = a.now
  promote_due(now, a.group_limit)
  if redis.call('HEXISTS', k.meta, 'paused') == 1 then return {2, 0, {}, {}} end
  if a.n <= 0 then return {0, next_due_hint(now), {}, {}} end
  local n, code, hint = room_under_limits(a.n, now, a.concurrency, a.rate_max, a.rate_ms)
  if n == 0 then return {code, hint, {}, {}} end
  local claimed, expired, leases, count = {}, {}, {}, 0
  local keyed = redis.call('HEXISTS', k.meta, 'keyGroups') == 1
  local kg, idle = {rooms = {}, hint = -1}, 0
  while count < n do
    local group = redis.call('LPOP', k.ring)
    if not group then break end
    local gkey = group_key(group)
    local active = tonumber(redis.call('HGET', k.gactive, group) or '0')
    local take = 1
    -- A lone group takes the whole batch in one pop; several groups alternate one job each.
    if redis.call('LLEN', k.ring) == 0 then take = n - count end
    if a.group_limit > 0 then take = math.min(take, a.group_limit - active) end
    local started = 0
    if take > 0 and keyed then
      local picked = kg_pick(gkey, take, now, kg)
      for i = 1, #picked, 2 do
        local id, kid = picked[i], picked[i + 1]
        if start_job(id, group, now, a.worker, a.lease_cap, a.lease_margin, claimed, leases) then
          started = started + 1
          if kid then kg_started(kid, id, now, kg.rooms[kid][2]) end
        else
          expired[#expired + 1] = id
        end
      end
    elseif take > 0 then
      local popped = redis.call('ZPOPMIN', gkey, take)
      for i = 1, #popped, 2 do
        if start_job(popped[i], group, now, a.worker, a.lease_cap, a.lease_margin, claimed, leases) then
          started = started + 1
        else
          expired[#expired + 1] = popped[i]
        end
      end
    end
    if started > 0 then redis.call('HINCRBY', k.gactive, group, started) end
    count = count + started
    if redis.call('EXISTS', gkey) == 1 then place_group(k, group, a.group_limit, active + started) end
    -- Key groups can hold back every job a tenant has: stop once a whole turn of the ring
    -- started nothing.
    if started > 0 then idle = 0 else idle = idle + 1 end
    if keyed and idle > 0 and idle >= redis.call('LLEN', k.ring) then break end
  end
  if count == 0 then
    -- The ring is empty unless key groups held back what is in it (then: code 0).
    if redis.call('SCARD', k.parked) > 0 and redis.call('LLEN', k.ring) == 0 then
      return {5, lease_hint(now), {}, expired}
    end
    local due = next_due_hint(now)
    if kg.hint >= 0 and (due < 0 or kg.hint < due) then due = kg.hint end
    return {0, due, {}, expired}
  end
  redis.call('ZADD', k.active, unpack(leases))
  if a.rate_max > 0 then
    local log = {}
    for i = 2, #leases, 2 do
      log[#log + 1] = now
      log[#log + 1] = leases[i] .. ':' .. now
    end
    redis.call('ZADD', k.limiter, unpack(log))
  end
  -- More work left: pass the wake-up on so another idle drainer joins in.
  if redis.call('LLEN', k.ring) > 0 then wake(k) end
  return {1, 0, claimed, expired}
end

local function claim_args(base)
  local a = {
    now = tonumber(ARGV[1]), worker = ARGV[base], n = tonumber(ARGV[base + 1]),
    lease_cap = tonumber(ARGV[base + 2]), lease_margin = tonumber(ARGV[base + 3]),
    concurrency = tonumber(ARGV[base + 4]), group_limit = tonumber(ARGV[base + 5]),
    rate_max = tonumber(ARGV[base + 6]), rate_ms = tonumber(ARGV[base + 7]),
  }
  -- Limits set at runtime (set_limits.lua) win over the deployed ones passed in ARGV.
  local r = redis.call('HMGET', k.limits, 'concurrency', 'groupConcurrency', 'rateMax',
    'rateMs')
  a.concurrency = tonumber(r[1] or a.concurrency)
  a.group_limit = tonumber(r[2] or a.group_limit)
  a.rate_max = tonumber(r[3] or a.rate_max)
  a.rate_ms = tonumber(r[4] or a.rate_ms)
  return a
end
