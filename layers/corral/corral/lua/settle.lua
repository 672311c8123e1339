--[[
  Settle what a worker finished (complete, retry later, or fail for good), apply
  retention, and optionally claim the worker's next batch in the same round trip.

  KEYS: prefix meta ring parked gactive active delayed completed failed cancelled limiter wake limits kgactive
  ARGV[1] now (ms)
  ARGV[2..9] claim arguments as in claim.lua ARGV[2..9] (n = 0 claims nothing)
  ARGV[10] keep completed (-1 = all)   ARGV[11] completed max age (ms, 0 = none)
  ARGV[12] keep failed (-1 = all)      ARGV[13] failed max age (ms, 0 = none)
  ARGV[14] m, the number of outcomes
  ARGV[15..14 + 4m] per outcome: id, lease token, kind, group
    kind c = completed, r = retry, f = failed, x = cancelled while running (never
    retried; kept as failed jobs are); group as the claim returned it.
  ARGV[15 + 4m] the outcomes' other fields, for those that are not a completed job's null
    result: a JSON array of [i, payload, retryAt, dedup, keyGroup] (i: the outcome's
    place, from 1), or '' for none. payload is the result or error JSON text (a completed
    job's null result is not stored: an absent result reads as null); retryAt (ms) is
    read for r only; dedup and keyGroup are as the claim returned them ('' = none).
    Those fields do not change while a job runs: with them handed back, the lease token
    is all of a job's hash read here (each field read costs more than the rest of its
    settle). The common fields go as plain arguments: cjson decodes a string about one
    byte at a time, the job ids and tokens cost more that way than the jobs' own work.

  Returns {codes, claim}: codes has one entry per outcome:
    1  settled
   -1  no such job
   -2  lease lost: the job is no longer held with this token (it stalled and moved on)
  claim is claim.lua's reply. Slots freed and not claimed here (n = 0) while jobs wait
  push the wake-up, for drainers blocked at the concurrency limit.
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/key_groups.lua
--@include includes/job.lua
--@include includes/claim.lua
--@include includes/retention.lua

local now = tonumber(ARGV[1])
-- now as sent, for arguments: Redis formats a number argument with a slow "%.17g".
local now_s = ARGV[1]
local a = claim_args(2)
local m = tonumber(ARGV[14])
local others = {}
if ARGV[15 + 4 * m] ~= '' then
  for _, e in ipairs(cjson.decode(ARGV[15 + 4 * m])) do others[e[1]] = e end
end
-- What an outcome leaves out: a completed job's null result, no dedup id, no key group.
local plain = {nil, 'null', 0, '', ''}
local codes, released, done, failed, group_delta = {}, {}, {}, {}, {}
local cancelled = {}
local retry_seq = nil
-- A final outcome's state, the field its payload goes to, and the zset it joins.
local finals = {
  c = {'completed', 'result', done}, f = {'failed', 'error', failed},
  x = {'cancelled', 'error', cancelled},
}

for i = 0, m - 1 do
  local b = 15 + 4 * i
  local id, token, kind, group = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local o = others[i + 1] or plain
  local payload = o[2]
  local jkey = job_key(id)
  local lock = redis.call('HGET', jkey, 'lock')
  if not lock and redis.call('EXISTS', jkey) == 0 then
    codes[#codes + 1] = -1
  elseif lock ~= token or token == '' then
    codes[#codes + 1] = -2
  else
    codes[#codes + 1] = 1
    released[#released + 1] = id
    group_delta[group] = (group_delta[group] or 0) + 1
    kg_done(o[5], 1)
    local final = finals[kind]
    if final then
      if kind == 'c' and payload == 'null' then
        redis.call('HSET', jkey, 'state', 'completed', 'finishedAt', now_s, 'lock', '')
      else
        redis.call('HSET', jkey, 'state', final[1], final[2], payload, 'finishedAt', now_s,
          'lock', '')
      end
      if kind == 'x' then redis.call('HDEL', jkey, 'cancel') end
      local z = final[3]
      local n = #z
      z[n + 1], z[n + 2] = now_s, id
      release_dedup(k, o[4], id)
    else
      local retry_at = o[3]
      if retry_at > now then
        redis.call('HSET', jkey, 'state', 'delayed', 'error', payload, 'lock', '')
        redis.call('ZADD', k.delayed, retry_at, id)
      else
        retry_seq = retry_seq or next_seq(k, m)
        redis.call('HSET', jkey, 'state', 'waiting', 'error', payload, 'lock', '')
        local priority = tonumber(redis.call('HGET', jkey, 'priority') or '0')
        push_waiting(k, group, id, wait_score(priority, retry_seq + i), a.group_limit)
      end
    end
  end
end

if #released > 0 then redis.call('ZREM', k.active, unpack(released)) end
for group, delta in pairs(group_delta) do
  group_done(k, group, delta, a.group_limit)
end
-- Per-minute throughput for the dashboard: one hash per minute that expires after an hour.
local function count_minute(field, n)
  if n == 0 then return end
  local mkey = minute_key(math.floor(now / 60000))
  if redis.call('HINCRBY', mkey, field, n) == n then redis.call('PEXPIRE', mkey, 3660000) end
end
count_minute('completed', #done / 2)
count_minute('failed', #failed / 2)

if #done > 0 then
  redis.call('ZADD', k.completed, unpack(done))
  apply_retention(k.completed, tonumber(ARGV[10]), tonumber(ARGV[11]), now)
end
if #failed > 0 then
  redis.call('ZADD', k.failed, unpack(failed))
  apply_retention(k.failed, tonumber(ARGV[12]), tonumber(ARGV[13]), now)
end
if #cancelled > 0 then
  redis.call('ZADD', k.cancelled, unpack(cancelled))
  apply_retention(k.cancelled, tonumber(ARGV[12]), tonumber(ARGV[13]), now)
end
local claim = claim_batch(a)
-- Slots freed that this worker does not take: pass the wake-up on, since drainers at the
-- concurrency limit block on it instead of polling.
if #released > 0 and a.n <= 0 and redis.call('LLEN', k.ring) > 0
    and (a.concurrency == 0 or redis.call('ZCARD', k.active) < a.concurrency) then
  wake(k)
end
return {codes, claim}
