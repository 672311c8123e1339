--[[
  Completed and failed jobs per minute over the last `minutes` minutes (read only).
  settle.lua keeps one small hash per minute (minute_key, includes/keys.lua),
  each expiring after an hour, so memory stays bounded.

  KEYS: prefix
  ARGV[1] now (ms)   ARGV[2] minutes (at most 60)

  Returns a flat list {minute, completed, failed, ...}, oldest first.
]]
--@include includes/keys.lua

local last = math.floor(tonumber(ARGV[1]) / 60000)
local out = {}
for minute = last - tonumber(ARGV[2]) + 1, last do
  local f = redis.call('HMGET', minute_key(minute), 'completed', 'failed')
  out[#out + 1] = minute
  out[#out + 1] = tonumber(f[1] or '0')
  out[#out + 1] = tonumber(f[2] or '0')
end
return out
