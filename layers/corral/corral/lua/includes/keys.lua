--[[
  The fixed keys of a queue, in the order every script receives them.
  KEYS[1] prefix    "corral:{queue}:" (job, group and dedup keys are built from it)
  KEYS[2] meta      hash: paused flag, sequence counter
  KEYS[3] ring      list: groups ready to be served
  KEYS[4] parked    set: groups at their concurrency limit that still have waiting jobs
  KEYS[5] gactive   hash: group -> jobs active
  KEYS[6] active    zset: job id -> lease deadline (ms)
  KEYS[7] delayed   zset: job id -> due time (ms)
  KEYS[8] completed zset: job id -> finish time (ms)
  KEYS[9] failed    zset: job id -> finish time (ms)
  KEYS[10] cancelled zset: job id -> cancel time (ms)
  KEYS[11] limiter  zset: rate-limit log of recent claims
  KEYS[12] wake     list: wake-up marker for idle drainers
]]
local k = {
  prefix = KEYS[1], meta = KEYS[2], ring = KEYS[3], parked = KEYS[4], gactive = KEYS[5],
  active = KEYS[6], delayed = KEYS[7], completed = KEYS[8], failed = KEYS[9],
  cancelled = KEYS[10], limiter = KEYS[11], wake = KEYS[12],
}
local function job_key(id)
  return k.prefix .. 'job:' .. id
end
-- A job's log lines: a list that lives and dies with the job's hash.
local function logs_key(id)
  return k.prefix .. 'logs:' .. id
end
