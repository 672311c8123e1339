--[[
  List a queue's key groups (read only): those with jobs waiting or running, and those
  with limits set at runtime (includes/key_groups.lua).

  KEYS: prefix kgactive
  ARGV[1] the most key groups to answer, busiest (waiting + running) first
  ARGV[2] one key group id to answer alone ('' = all)

  Returns {total, {id, waiting, active, held (1: lanes of it wait for a slot or its rate
  window), concurrency, rateMax, rateMs (set at runtime, false if not), jobConcurrency,
  jobRateMax, jobRateMs (carried by its next waiting job, false if none)}, ...}.
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/key_groups.lua

local limit, only = tonumber(ARGV[1]), ARGV[2]
local groups, ids = {}, {}
local function group(id)
  if only ~= '' and id ~= only then return nil end
  if not groups[id] then
    groups[id] = {id = id, waiting = 0, active = 0}
    ids[#ids + 1] = id
  end
  return groups[id]
end

for _, lane in ipairs(redis.call('SMEMBERS', kg_lanes_key())) do
  local tenant, id = string.match(lane, '^([^:]+):(.+)$')
  local g = group(id)
  if g then
    local lkey = lane_key(tenant, id)
    g.waiting = g.waiting + redis.call('ZCARD', lkey)
    g.head = g.head or redis.call('ZRANGE', lkey, 0, 0)[1]
  end
end
local active = redis.call('HGETALL', k.kgactive)
for i = 1, #active, 2 do
  local g = group(active[i])
  if g then g.active = tonumber(active[i + 1]) end
end
for _, id in ipairs(redis.call('SMEMBERS', kg_limited_key())) do group(id) end
if only ~= '' then group(only) end

table.sort(ids, function(x, y)
  local a, b = groups[x], groups[y]
  if a.waiting + a.active ~= b.waiting + b.active then
    return a.waiting + a.active > b.waiting + b.active
  end
  return x < y
end)
local out = {#ids}
for i = 1, math.min(#ids, limit) do
  local g = groups[ids[i]]
  local r = redis.call('HMGET', kg_key(g.id), 'concurrency', 'rateMax', 'rateMs')
  local j = {false, false, false}
  if g.head then
    j = redis.call('HMGET', job_key(g.head), 'kgConcurrency', 'kgRateMax', 'kgRateMs')
  end
  local held = redis.call('EXISTS', kg_parked_key(g.id))
  out[#out + 1] = {g.id, g.waiting, g.active, held, r[1], r[2], r[3], j[1], j[2], j[3]}
end
return out
