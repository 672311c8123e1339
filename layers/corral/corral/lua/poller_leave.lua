--[[
  The end of a poller's round: stay if there is work for it, otherwise unregister and,
  as the last one out, clear the queue's poller flag. One script, so that no enqueue
  falls between the look and the leaving: an enqueue before it is seen here, one after
  it finds the flag gone and wakes a poller.

  KEYS: prefix meta ring parked delayed pollers poller
  ARGV[1] worker id   ARGV[2] now (ms)   ARGV[3] ttl (ms)
  ARGV[4] stay, with no job waiting, for a delayed job due within this many ms (-1: never)
  ARGV[5] 1: leave whatever waits (the run is over)

  Returns {verdict, waiting, due}: verdict 'stay' (still registered), or it left:
  'paused', 'empty' or, with ARGV[5], 'left' (the last one out: the flag is cleared), or
  'others' (live pollers remain and hold the flag); waiting: the jobs waiting now; due: ms until the next
  delayed job is due (-1: none).
]]
--@include includes/keys.lua
--@include includes/waiting.lua

local worker, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local stay_for_due, force = tonumber(ARGV[4]), ARGV[5] == '1'
local paused = redis.call('HEXISTS', k.meta, 'paused') == 1
local waiting = waiting_count()
local due = -1
local first = redis.call('ZRANGE', k.delayed, 0, 0, 'WITHSCORES')
if #first > 0 then due = math.max(0, tonumber(first[2]) - now) end

local function stay()
  redis.call('ZADD', k.pollers, now + ttl, worker)
  redis.call('SET', k.poller, worker, 'PX', ttl)
  return {'stay', waiting, due}
end

local active = not force and not paused
if active and waiting == 0 and due >= 0 and due <= stay_for_due then return stay() end
redis.call('ZREM', k.pollers, worker)
redis.call('ZREMRANGEBYSCORE', k.pollers, '-inf', now)
local alone = redis.call('ZCARD', k.pollers) == 0
if active and alone and waiting > 0 then return stay() end
if alone then redis.call('DEL', k.poller) end
if force then return {alone and 'left' or 'others', waiting, due} end
if paused then return {'paused', waiting, due} end
if not alone then return {'others', waiting, due} end
return {'empty', waiting, due}
