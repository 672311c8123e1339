--[[
  Count a queue's jobs by state (read only).

  KEYS: prefix meta ring parked active delayed completed failed cancelled

  Returns {waiting, active, delayed, completed, failed, cancelled, paused (0/1)}.
]]
--@include includes/keys.lua
--@include includes/waiting.lua

local waiting = waiting_count()
return {
  waiting, redis.call('ZCARD', k.active), redis.call('ZCARD', k.delayed),
  redis.call('ZCARD', k.completed), redis.call('ZCARD', k.failed),
  redis.call('ZCARD', k.cancelled), redis.call('HEXISTS', k.meta, 'paused'),
}
