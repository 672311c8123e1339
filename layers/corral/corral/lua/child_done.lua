--[[
  The parent's half of "a child finished": record the child's result (or failure) on
  its parent, and release the parent when its last required child is done. The child's
  half (its own outcome, and the parent's record in the job table) came first; this
  script is idempotent so that the reconciler may replay it after a crash in between.

  KEYS: prefix meta ring parked gactive failed wake wchildren
  ARGV[1] now (ms)   ARGV[2] parent id   ARGV[3] child id
  ARGV[4] kind: c = completed, i = failed but ignored (ignoreDependencyOnFailure),
                f = failed for good (fails the parent)
  ARGV[5] the child's result (c) or error (i, f), as JSON text

  Returns:
    1  recorded; the parent still waits for other children
    4  recorded; that was the last child: the parent is now waiting (claimable), with
       opts.childrenResults / opts.childrenFailures holding what its children left
    3  recorded; the parent failed (a required child failed for good)
    0  this child was already recorded (a replay)
    2  the parent is no longer waiting for children (released, failed or cancelled)
   -1  no such parent (Redis lost it: the reconciler puts it back)
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/job.lua

local now, pid, cid, kind, payload = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local jkey = job_key(pid)
local f = redis.call('HMGET', jkey, 'state', 'group', 'priority', 'opts', 'groupLimit')
if not f[1] then return -1 end
if f[1] ~= 'waiting-children' then return 2 end
local results, failures = results_key(pid), failures_key(pid)
if redis.call('HEXISTS', results, cid) == 1 or redis.call('HEXISTS', failures, cid) == 1 then
  return 0
end
local wchildren = k.wchildren
local REARM_WINDOW_MS = 30 * 86400000

if kind == 'f' then
  redis.call('HSET', failures, cid, payload)
  local err = cjson.encode({message = 'child job ' .. cid .. ' failed', type = 'ChildFailedError',
    child = cid})
  redis.call('HSET', jkey, 'state', 'failed', 'error', err, 'finishedAt', now)
  redis.call('ZREM', wchildren, pid)
  redis.call('ZADD', k.failed, now, pid)
  -- Kept for a while: retrying the failed child re-arms the parent (rearm_parent.lua).
  redis.call('PEXPIRE', results, REARM_WINDOW_MS)
  redis.call('PEXPIRE', failures, REARM_WINDOW_MS)
  return 3
end

if kind == 'c' then
  redis.call('HSET', results, cid, payload)
else
  redis.call('HSET', failures, cid, payload)
end
if redis.call('HINCRBY', jkey, 'pendingChildren', -1) > 0 then return 1 end

-- The last child: hand the children's outcomes to the parent inside its opts (which the
-- claim returns), spliced as JSON text so that every value stays exactly as stored.
local function object(hkey)
  local flat = redis.call('HGETALL', hkey)
  local parts = {}
  for i = 1, #flat, 2 do parts[#parts + 1] = cjson.encode(flat[i]) .. ':' .. flat[i + 1] end
  return '{' .. table.concat(parts, ',') .. '}'
end
local opts = string.sub(job_opts(f[4]), 1, -2)
if opts ~= '{' then opts = opts .. ',' end
opts = opts .. '"childrenResults":' .. object(results) .. ',"childrenFailures":' ..
  object(failures) .. '}'
-- flowOpts keeps its own opts, for a retried child that takes it back (wait_again.lua).
redis.call('HSET', jkey, 'state', 'waiting', 'opts', opts, 'flowOpts', f[4] or '')
redis.call('DEL', results, failures)
redis.call('ZREM', wchildren, pid)
push_waiting(k, f[2], pid, wait_score(tonumber(f[3] or '0'), next_seq(k, 1)), tonumber(f[5] or '0'))
wake(k)
return 4
