--[[
  Record a running job's progress.

  KEYS: the queue's fixed keys (includes/keys.lua).
  ARGV[1] job id   ARGV[2] lease token   ARGV[3] progress (JSON)

  Returns 1 recorded, -1 no such job, -2 lease lost.
]]
--@include includes/keys.lua

local lock = redis.call('HGET', job_key(ARGV[1]), 'lock')
if not lock then return -1 end
if lock ~= ARGV[2] then return -2 end
redis.call('HSET', job_key(ARGV[1]), 'progress', ARGV[3])
return 1
