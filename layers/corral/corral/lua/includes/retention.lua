--[[
  Retention for a finished-jobs zset (completed, failed or cancelled): keep at most
  `keep` jobs (-1 = no count bound) and none older than `max_age` ms (0 = no age bound).
  Removes the job hashes (and their log lists) too. Bounded work per call, so it never stalls Redis.
  Needs k.meta.
]]
-- Whether this queue's jobs may have log lists. The meta field logs says some job logged
-- (append_logs.lua); it is trusted only where logsTracked says every list came after it
-- (stamped with the queue's first job, includes/groups.lua): a queue older than that
-- deletes each job's log key, as it always did. Deleting a key that is not there costs
-- Redis about half as much as deleting the job's hash.
local logs_possible = nil
local function may_have_logs()
  if logs_possible == nil then
    local m = redis.call('HMGET', k.meta, 'logsTracked', 'logs')
    logs_possible = not m[1] or m[2] ~= false
  end
  return logs_possible
end

-- Delete the hashes (and log lists) of jobs `ids`.
local function delete_hashes(ids)
  local keys = {}
  if may_have_logs() then
    for i, id in ipairs(ids) do
      keys[2 * i - 1], keys[2 * i] = job_key(id), logs_key(id)
    end
  else
    for i, id in ipairs(ids) do keys[i] = job_key(id) end
  end
  redis.call('DEL', unpack(keys))
end

local function delete_jobs(zkey, ids)
  if #ids == 0 then return end
  delete_hashes(ids)
  redis.call('ZREM', zkey, unpack(ids))
end

local function apply_retention(zkey, keep, max_age, now)
  if keep >= 0 then
    local excess = redis.call('ZCARD', zkey) - keep
    if excess > 0 then
      -- The oldest, by rank: ZREMRANGEBYRANK finds them without looking up each id.
      local last = math.min(excess, 1000) - 1
      delete_hashes(redis.call('ZRANGE', zkey, 0, last))
      redis.call('ZREMRANGEBYRANK', zkey, 0, last)
    end
  end
  if max_age > 0 then
    delete_jobs(zkey, redis.call('ZRANGEBYSCORE', zkey, '-inf', now - max_age, 'LIMIT', 0, 1000))
  end
end
