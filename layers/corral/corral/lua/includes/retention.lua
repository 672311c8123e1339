--[[
  Retention for a finished-jobs zset (completed, failed or cancelled): keep at most
  `keep` jobs (-1 = no count bound) and none older than `max_age` ms (0 = no age bound).
  Removes the job hashes (and their log lists) too. Bounded work per call, so it never stalls Redis.
]]
-- Delete the hashes (and log lists) of jobs `ids`.
local function delete_hashes(ids)
  local hashes = {}
  for i, id in ipairs(ids) do
    hashes[2 * i - 1], hashes[2 * i] = job_key(id), logs_key(id)
  end
  redis.call('DEL', unpack(hashes))
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
