--[[
  List a page of jobs in one state (read only). Finished states come newest first,
  delayed by due time, active by lease deadline, waiting in the order they will run.

  KEYS: prefix ring parked active delayed completed failed cancelled
  ARGV[1] state (waiting|active|delayed|completed|failed|cancelled)
  ARGV[2] offset   ARGV[3] limit

  Returns {total, {id, {field, value, ...}}, ...}.
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/waiting.lua

local state, offset, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ids, total = {}, 0
if state == 'waiting' then
  local scored = {}
  for _, line in ipairs(waiting_lines()) do
    local gkey = line[2]
    total = total + redis.call('ZCARD', gkey)
    local page = redis.call('ZRANGE', gkey, 0, offset + limit - 1, 'WITHSCORES')
    for i = 1, #page, 2 do scored[#scored + 1] = {tonumber(page[i + 1]), page[i]} end
  end
  table.sort(scored, function(x, y) return x[1] < y[1] end)
  for i = offset + 1, math.min(#scored, offset + limit) do ids[#ids + 1] = scored[i][2] end
else
  local zkey = k[state]
  total = redis.call('ZCARD', zkey)
  local cmd = 'ZRANGE'
  if state == 'completed' or state == 'failed' or state == 'cancelled' then cmd = 'ZREVRANGE' end
  ids = redis.call(cmd, zkey, offset, offset + limit - 1)
end
local out = {total}
for _, id in ipairs(ids) do
  out[#out + 1] = {id, redis.call('HGETALL', job_key(id))}
end
return out
