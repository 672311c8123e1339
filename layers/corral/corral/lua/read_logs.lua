--[[
  Read a page of a job's log lines, oldest first, from a cursor that survives the
  oldest lines being dropped: line numbers count every line ever appended (logSeq).

  KEYS: prefix
  ARGV[1] job id   ARGV[2] cursor (the first line number wanted)   ARGV[3] most lines

  Returns {end, total, lines}: end is the line number after the last line returned (the
  next cursor while it is below total, the lines ever appended); -1 if there is no such job.
]]
--@include includes/keys.lua

local id, cursor, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local seq = redis.call('HGET', job_key(id), 'logSeq')
if not seq then
  if redis.call('EXISTS', job_key(id)) == 0 then return -1 end
  return {0, 0, {}}
end
local lkey = logs_key(id)
seq = tonumber(seq)
local first = seq - redis.call('LLEN', lkey)
local start = math.max(cursor, first)
local lines = {}
if start < seq then
  lines = redis.call('LRANGE', lkey, start - first, start - first + limit - 1)
end
return {start + #lines, seq, lines}
