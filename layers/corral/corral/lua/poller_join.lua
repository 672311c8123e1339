--[[
  A poller starts or refreshes its run, in one round trip: it registers until now + ttl,
  holds the queue's poller flag (the API wakes no one while it is set), sets the queue's
  Redis marker, and learns whether a lease has already run out and how many jobs wait.

  KEYS: prefix meta ring parked pollers poller active marker
  ARGV[1] worker id   ARGV[2] now (ms)   ARGV[3] ttl (ms)

  Returns {marker was missing (1/0), a lease has run out (1/0), waiting, paused (1/0)}:
  a missing marker means Redis lost the queue (index_marker.py); a lease that ran out
  means recover.lua is due; the jobs waiting decide the fan-out (poller/run.py).
]]
--@include includes/keys.lua
--@include includes/waiting.lua

local worker, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZADD', k.pollers, now + ttl, worker)
redis.call('SET', k.poller, worker, 'PX', ttl)
local lost = redis.call('SET', k.marker, '1', 'NX') and 1 or 0
local first = redis.call('ZRANGE', k.active, 0, 0, 'WITHSCORES')
local lapsed = (#first > 0 and tonumber(first[2]) <= now) and 1 or 0
return {lost, lapsed, waiting_count(), redis.call('HEXISTS', k.meta, 'paused')}
