--[[
  Take n jobs from a tenant's enqueue budget: a token bucket that refills at `rate`
  tokens per second up to `burst`. Either all n are taken or none.

  KEYS[1] the tenant's bucket (a hash: tokens, at); it expires once it would be full
  ARGV[1] now (ms)   ARGV[2] rate (jobs per second)   ARGV[3] burst   ARGV[4] n

  Returns {1, 0} when admitted, or {0, wait_ms}: not enough tokens, nothing taken, and
  the ms until there will be.
]]
local now, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local burst, n = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
-- An API instance whose clock runs behind refills nothing rather than a negative amount.
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
if tokens < n then
  return {0, math.ceil((n - tokens) * 1000 / rate)}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - n), 'at', at)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {1, 0}
