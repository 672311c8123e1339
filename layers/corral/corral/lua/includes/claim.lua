--[[
  Claim: promote due delayed jobs, then hand out up to n waiting jobs under the queue's
  limits, serving groups (tenants) round-robin and, within a tenant, its key group lanes
  round-robin (includes/groups.lua). Used by claim.lua and settle.lua.

  Returns {code, hintMs, claimed, expired}:
    code 1 claimed at least one job; 0 nothing waiting (hintMs: time until the next
    delayed job is due, -1 if none); 2 paused; 3 rate limited (hintMs: until the next
    token); 4 at global concurrency; 5 jobs wait, but every waiting group is at its
    concurrency limit. For 4 and 5, hintMs is the time until the earliest lease runs out
    (0: one already has, so recover.lua frees its slot; -1: no lease held).
    claimed: flat {id, data, opts, attempt, group, createdAt, dedup, keyGroup, ...}
      (dedup and keyGroup '' when the job has none: the worker hands them back to
      settle.lua, which then reads nothing of the job's hash but its lease token)
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

-- The HSET and ZADD arguments of a start, by attempt and by lease: strings made once per
-- call, as Redis formats each number argument of redis.call with a slow "%.17g".
local function attempt_args(made, c)
  local t = c.attempts[made]
  if not t then
    local attempt = string.format('%d', tonumber(made) + 1)
    t = {attempt, c.a.worker .. ':' .. attempt}
    c.attempts[made] = t
  end
  return t
end

local function lease_deadline(timeout, c)
  local a = c.a
  local lease = math.min(job_timeout(timeout), a.lease_cap) + a.lease_margin
  local d = c.deadlines[lease]
  if not d then
    d = string.format('%d', c.now + lease)
    c.deadlines[lease] = d
  end
  return d
end

-- A job whose ttl ran out before it started fails instead.
local function expire_job(jkey, id, opts, expires_at, now)
  local ok, decoded = pcall(cjson.decode, opts)
  local ttl = ok and type(decoded) == 'table' and tonumber(decoded.ttl) or 0
  local message = string.format('expired: ttl %d ms ran out %d ms before a poller reached it',
    ttl, now - expires_at)
  redis.call('HSET', jkey, 'state', 'failed', 'finishedAt', now,
    'error', cjson.encode({message = message, type = 'ExpiredError'}))
  redis.call('ZADD', k.failed, now, id)
  release_dedup(k, redis.call('HGET', jkey, 'dedup'), id)
end

local function start_job(id, group, c)
  local jkey = job_key(id)
  local f = redis.call('HMGET', jkey, 'data', 'opts', 'attemptsMade', 'expiresAt', 'createdAt',
    'timeout', 'dedup', 'keyGroup')
  local opts, made = job_opts(f[2]), f[3] or '0'
  -- ttl bounds the wait before the first start; a retry of a started job never expires.
  if f[4] and made == '0' then
    local expires_at = tonumber(f[4])
    if expires_at > 0 and expires_at < c.now then
      expire_job(jkey, id, opts, expires_at, c.now)
      return false
    end
  end
  local t = attempt_args(made, c)
  redis.call('HSET', jkey, 'state', 'active', 'attemptsMade', t[1], 'lock', t[2],
    'processedAt', c.now_s)
  local leases = c.leases
  leases[#leases + 1] = lease_deadline(f[6], c)
  leases[#leases + 1] = id
  local claimed = c.claimed
  local n = #claimed
  claimed[n + 1], claimed[n + 2], claimed[n + 3] = id, f[1], opts
  claimed[n + 4], claimed[n + 5], claimed[n + 6] = t[1], group, f[5]
  claimed[n + 7], claimed[n + 8] = f[7] or '', f[8] or ''
  return true
end

-- Pop up to `take` jobs of zset `zkey` (a tenant's lane) and start them; c holds the
-- claim's state. Returns how many started, and the ids of those that did.
local function start_from(zkey, take, group, c)
  -- ZRANGE then ZREMRANGEBYRANK, not ZPOPMIN: that one formats each score it replies
  -- with a slow "%.17g". (A range to -1 would be the whole zset.)
  if take <= 0 then return 0, {}, 0 end
  local popped = redis.call('ZRANGE', zkey, 0, take - 1)
  if #popped == 0 then return 0, {}, 0 end
  redis.call('ZREMRANGEBYRANK', zkey, 0, #popped - 1)
  local ids = {}
  for _, id in ipairs(popped) do
    if start_job(id, group, c) then
      ids[#ids + 1] = id
    else
      c.expired[#c.expired + 1] = id
    end
  end
  return #ids, ids, #popped
end

-- How many jobs key group `kid` may start now (-1: no limit), under the limits of the
-- next job of the first lane of it this claim serves: c.rooms[kid] = {room, rate_ms,
-- wait}, counted down as its jobs start. Once a rate-limited key group's room ran out
-- here, it is judged again, for how long its rate window holds the lanes still to serve.
local function lane_room(kid, lkey, c)
  local r = c.rooms[kid]
  if r and (r[1] ~= 0 or r[3] > 0 or r[2] == 0 or r[4]) then return r end
  local head = redis.call('ZRANGE', lkey, 0, 0)[1]
  if not head then return {-1, 0, 0} end
  local room, rate_ms, wait = kg_room(kid, job_key(head), c.now)
  r = {room, rate_ms, wait, r ~= nil}
  c.rooms[kid] = r
  return r
end

-- Serve up to `take` jobs of a tenant with key group lanes, one lane at a time, one job
-- per lane while several take turns (a lone lane takes the rest). A lane whose key group
-- is at its limit is parked, whatever it holds, and the next lane is served.
local function serve_lanes(group, take, c)
  local rkey = kring_key(group)
  local started = 0
  while started < take do
    local kid = redis.call('LPOP', rkey)
    if not kid then break end
    local want = 1
    if redis.call('LLEN', rkey) == 0 then want = take - started end
    if kid == '' then
      local gkey = group_key(group)
      started = started + start_from(gkey, want, group, c)
      if redis.call('EXISTS', gkey) == 1 then redis.call('RPUSH', rkey, '') end
    else
      local lkey = lane_key(group, kid)
      local r = lane_room(kid, lkey, c)
      if r[1] == 0 then
        kg_park(group, kid, r[3], c.now)
      else
        if r[1] > 0 then want = math.min(want, r[1]) end
        local s, ids, popped = start_from(lkey, want, group, c)
        lane_taken(group, popped)
        if s > 0 then
          kg_started(kid, ids, c.now, r[2])
          if r[1] > 0 then r[1] = r[1] - s end
        end
        started = started + s
        if redis.call('EXISTS', lkey) == 1 then
          redis.call('RPUSH', rkey, kid)
        else
          redis.call('SREM', kg_lanes_key(), group .. ':' .. kid)
        end
      end
    end
  end
  return started
end

-- a: {now, now_s (now as sent), worker, n, lease_cap, lease_margin, concurrency,
--     group_limit, rate_max, rate_ms}
local function claim_batch(a)
  local now = a.now
  promote_due(now, a.group_limit)
  if redis.call('HEXISTS', k.meta, 'paused') == 1 then return {2, 0, {}, {}} end
  if a.n <= 0 then return {0, next_due_hint(now), {}, {}} end
  local n, code, hint = room_under_limits(a.n, now, a.concurrency, a.rate_max, a.rate_ms)
  if n == 0 then return {code, hint, {}, {}} end
  local c = {a = a, now = now, now_s = a.now_s, claimed = {}, expired = {}, leases = {},
    rooms = {}, attempts = {}, deadlines = {}}
  local keyed = redis.call('HEXISTS', k.meta, 'keyGroups') == 1
  if keyed then kg_unpark_due(now) end
  local count = 0
  -- Each turn starts a job or takes the tenant out of the ring, so the loop ends.
  while count < n do
    local group = redis.call('LPOP', k.ring)
    if not group then break end
    local gkey = group_key(group)
    local active = tonumber(redis.call('HGET', k.gactive, group) or '0')
    local take = 1
    -- A lone group takes the whole batch in one pop; several groups alternate one job each.
    if redis.call('LLEN', k.ring) == 0 then take = n - count end
    if a.group_limit > 0 then take = math.min(take, a.group_limit - active) end
    local started, waits = 0, false
    if take > 0 and keyed and redis.call('EXISTS', kring_key(group)) == 1 then
      started = serve_lanes(group, take, c)
    elseif take > 0 then
      started = start_from(gkey, take, group, c)
    end
    if started > 0 then redis.call('HINCRBY', k.gactive, group, started) end
    count = count + started
    if keyed then waits = tenant_waits(group) else waits = redis.call('EXISTS', gkey) == 1 end
    if waits then place_group(k, group, a.group_limit, active + started) end
  end
  local claimed, expired, leases = c.claimed, c.expired, c.leases
  if count == 0 then
    -- The ring is empty unless key groups held back what is in it (then: code 0).
    if redis.call('SCARD', k.parked) > 0 and redis.call('LLEN', k.ring) == 0 then
      return {5, lease_hint(now), {}, expired}
    end
    local due = next_due_hint(now)
    if keyed then
      local opens = kg_next_open(now)
      if opens >= 0 and (due < 0 or opens < due) then due = opens end
    end
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
    now = tonumber(ARGV[1]), now_s = ARGV[1], worker = ARGV[base],
    n = tonumber(ARGV[base + 1]),
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
