--[[
  Claim up to n jobs for a worker: promote due delayed jobs, honour pause, global
  concurrency, the rate limit, per-group concurrency and key groups' limits, serve
  groups round-robin and each group's key groups round-robin, and give each claimed job
  a lease (active zset score = lease deadline).

  KEYS: prefix meta ring parked gactive active delayed failed limiter wake limits kgactive
  ARGV[1] now (ms)
  ARGV[2] worker id (the lease token is worker:attempt)
  ARGV[3] n, the most jobs to claim
  ARGV[4] lease cap (ms): a lease is min(job timeout, cap) + margin; heartbeats extend it
  ARGV[5] lease margin (ms)
  ARGV[6] global concurrency (0 = none)
  ARGV[7] group concurrency (0 = none)
  ARGV[8] rate limit: max jobs per window (0 = none)
  ARGV[9] rate limit window (ms)

  Returns {code, hintMs, claimed, expired}; see includes/claim.lua.
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/key_groups.lua
--@include includes/job.lua
--@include includes/claim.lua

return claim_batch(claim_args(2))
