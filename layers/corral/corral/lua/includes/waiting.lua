--[[
  The groups that hold waiting jobs: those in the ring plus the parked ones.
]]
local function waiting_groups()
  local groups = redis.call('LRANGE', k.ring, 0, -1)
  for _, g in ipairs(redis.call('SMEMBERS', k.parked)) do groups[#groups + 1] = g end
  return groups
end
