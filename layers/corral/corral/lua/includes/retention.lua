--[[
  Retention for a finished-jobs zset (completed, failed or cancelled): keep at most
  `keep` jobs (-1 = no count bound) and none older than `max_age` ms (0 = no age bound).
  Removes the job hashes (and their log lists) too. Bounded work per call, so it never stalls Redis.
]]
local function delete_jobs(zkey, ids)
  if #ids == 0 then return end
  local hashes = {}
  for i, id in ipairs(ids) do
    hashes[2 * i - 1], hashes[2 * i] = job_key(id), logs_key(id)
  end
  redis.call('DEL', unpack(hashes))
  redis.call('ZREM', zkey, unpack(ids))
end

local function apply_retention(zkey, keep, max_age, now)
  if keep >= 0 then
    local excess = redis.call('ZCARD', zkey) - keep
    if excess > 0 then
      delete_jobs(zkey, redis.call('ZRANGE', zkey, 0, math.min(excess, 1000) - 1))
    end
  end
  if max_age > 0 then
    delete_jobs(zkey, redis.call('ZRANGEBYSCORE', zkey, '-inf', now - max_age, 'LIMIT', 0, 1000))
  end
end
