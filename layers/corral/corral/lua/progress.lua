--[[
  Record a running job's progress.

  KEYS: prefix
  ARGV[1] job id   ARGV[2] lease token   ARGV[3] progress (JSON)

  Returns 1 recorded, -1 no such job, -2 lease lost.
]]
--@include includes/keys.lua

-- A job that was never claimed has no lock field: it exists, but is not held.
local f = redis.call('HMGET', job_key(ARGV[1]), 'state', 'lock')
if not f[1] then return -1 end
if f[2] ~= ARGV[2] then return -2 end
redis.call('HSET', job_key(ARGV[1]), 'progress', ARGV[3])
return 1
