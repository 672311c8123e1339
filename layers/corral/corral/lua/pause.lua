--[[
  Pause or resume a queue. A paused queue takes jobs but hands none out; jobs already
  running finish.

  KEYS: meta wake
  ARGV[1] 1 to pause, 0 to resume

  Returns 1 if the state changed, 0 if it already was so.
]]
--@include includes/keys.lua
--@include includes/groups.lua

if ARGV[1] == '1' then
  return redis.call('HSET', k.meta, 'paused', '1')
end
local changed = redis.call('HDEL', k.meta, 'paused')
if changed == 1 then wake(k) end
return changed
