--[[
  The groups that hold waiting jobs: those in the ring plus the parked ones (a tenant
  whose key group lanes are all held is in neither: waiting_lines lists those lanes).
]]
local function waiting_groups()
  local groups = redis.call('LRANGE', k.ring, 0, -1)
  for _, g in ipairs(redis.call('SMEMBERS', k.parked)) do groups[#groups + 1] = g end
  return groups
end

-- Every zset that holds waiting jobs, as {tenant, key}: the tenants' own lines (above)
-- and their key groups' lanes (kglanes; includes/groups.lua).
local function waiting_lines()
  local lines = {}
  for _, g in ipairs(waiting_groups()) do lines[#lines + 1] = {g, group_key(g)} end
  for _, lane in ipairs(redis.call('SMEMBERS', kg_lanes_key())) do
    local g, kid = string.match(lane, '^([^:]+):(.+)$')
    lines[#lines + 1] = {g, lane_key(g, kid)}
  end
  return lines
end

-- How many jobs wait: the tenants' own lines, plus their key groups' lanes (counted per
-- tenant in kgwaiting by includes/groups.lua).
local function waiting_count()
  local waiting = 0
  for _, g in ipairs(waiting_groups()) do
    waiting = waiting + redis.call('ZCARD', group_key(g))
  end
  for _, n in ipairs(redis.call('HVALS', kg_waiting_key())) do
    waiting = waiting + tonumber(n)
  end
  return waiting
end
