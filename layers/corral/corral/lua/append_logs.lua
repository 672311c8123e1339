--[[
  Append log lines to running jobs' logs, each log bounded by a line count and a byte
  count: when a line does not fit, the oldest lines are dropped to make room (the end of
  a log, where a failure shows, is what a reader needs most).

  KEYS: prefix meta
  ARGV[1] most lines per job   ARGV[2] most bytes per job
  ARGV[3] a JSON array with one pair per job: its id, then its lines (each an
    entry's JSON text)

  The job hash keeps the log's totals: logSeq (lines ever appended, the read cursor's
  origin) and logBytes (bytes now held). The queue's meta field logs tells retention that
  jobs have log lists to delete (includes/retention.lua).

  Returns the number of jobs whose log took lines (a job that is gone takes none).
]]
--@include includes/keys.lua

local max_lines, max_bytes = tonumber(ARGV[1]), tonumber(ARGV[2])
local written = 0
for _, entry in ipairs(cjson.decode(ARGV[3])) do
  local id, lines = entry[1], entry[2]
  local jkey = job_key(id)
  if redis.call('EXISTS', jkey) == 1 and #lines > 0 then
    local lkey = logs_key(id)
    local bytes, added = 0, 0
    for _, line in ipairs(lines) do
      if #line <= max_bytes then
        redis.call('RPUSH', lkey, line)
        bytes, added = bytes + #line, added + 1
      end
    end
    bytes = redis.call('HINCRBY', jkey, 'logBytes', bytes)
    redis.call('HINCRBY', jkey, 'logSeq', added)
    local count = redis.call('LLEN', lkey)
    while count > max_lines or bytes > max_bytes do
      bytes = bytes - #redis.call('LPOP', lkey)
      count = count - 1
    end
    redis.call('HSET', jkey, 'logBytes', bytes)
    written = written + 1
  end
end
if written > 0 then redis.call('HSET', k.meta, 'logs', '1') end
return written
