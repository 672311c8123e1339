--[[
  Retention for a finished-jobs zset (completed, failed or cancelled): keep at most
  `keep` jobs (-1 = no count bound) and none older than `max_age` ms (0 = no age bound).
  Removes the job hashes (and their log lists) too. Bounded work per call, so it never stalls Redis.
]]
-- Delete the hashes (and log lists) of jobs `ids`, already out of their zset.
local function delete_hashes(ids, step)
  if #ids == 0 then return end
  local hashes = {}
  for i = 1, #ids, step do
    local n = #hashes
    hashes[n + 1], hashes[n + 2] = job_key(ids[i]), logs_key(ids[i])
  end
  redis.call('DEL', unpack(hashes))
end

local function delete_jobs(zkey, ids)
  if #ids == 0 then return end
  delete_hashes(ids, 1)
  redis.call('ZREM', zkey, unpack(ids))
end

local function apply_retention(zkey, keep, max_age, now)
  if keep >= 0 then
    local excess = redis.call('ZCARD', zkey) - keep
    if excess > 0 then
      -- The oldest first, popped with their scores: one call instead of ZRANGE and ZREM.
      delete_hashes(redis.call('ZPOPMIN', zkey, math.min(excess, 1000)), 2)
    end
  end
  if max_age > 0 then
    delete_jobs(zkey, redis.call('ZRANGEBYSCORE', zkey, '-inf', now - max_age, 'LIMIT', 0, 1000))
  end
end
