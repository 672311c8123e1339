--[[
  Hand back claimed jobs a worker will not start (it is out of time): they go back to
  the front of their group, and the attempt the claim counted is returned.

  KEYS: prefix ring parked gactive active wake limits kgactive
  ARGV[1] group concurrency (0 = none)
  ARGV[2..] pairs of id, lease token

  Returns the number of jobs released (a job whose lease was already lost is skipped).
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/key_groups.lua

local group_limit = group_limit_in_force(k, tonumber(ARGV[1]))
local released = 0
for i = 2, #ARGV, 2 do
  local id, jkey = ARGV[i], job_key(ARGV[i])
  local f = redis.call('HMGET', jkey, 'lock', 'group', 'priority', 'attemptsMade', 'keyGroup')
  if f[1] and f[1] == ARGV[i + 1] then
    redis.call('ZREM', k.active, id)
    group_done(k, f[2], 1, group_limit)
    kg_done(f[5], 1)
    redis.call('HSET', jkey, 'state', 'waiting', 'lock', '', 'attemptsMade', tonumber(f[4]) - 1)
    -- Sequence 0 puts it ahead of everything of its priority: it was next in line.
    push_waiting(k, f[2], id, wait_score(tonumber(f[3] or '0'), 0), group_limit)
    released = released + 1
  end
end
if released > 0 then wake(k) end
return released
