--[[
  Count a queue's jobs by state (read only).

  KEYS: prefix meta ring parked active delayed completed failed cancelled

  Returns {waiting, active, delayed, completed, failed, cancelled, paused (0/1)}.
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/waiting.lua

local waiting = 0
for _, g in ipairs(waiting_groups()) do
  waiting = waiting + redis.call('ZCARD', group_key(g))
end
-- Jobs in key group lanes, counted per tenant (includes/groups.lua).
for _, n in ipairs(redis.call('HVALS', kg_waiting_key())) do
  waiting = waiting + tonumber(n)
end
return {
  waiting, redis.call('ZCARD', k.active), redis.call('ZCARD', k.delayed),
  redis.call('ZCARD', k.completed), redis.call('ZCARD', k.failed),
  redis.call('ZCARD', k.cancelled), redis.call('HEXISTS', k.meta, 'paused'),
}
