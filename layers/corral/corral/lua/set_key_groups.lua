--[[
  Set key groups' limits at runtime (PUT /queues/{q}/groups/{id}), or seed them again from
  the job table after Redis lost them. They win over the limits jobs carry in
  options.group (includes/key_groups.lua) from the next claim on: the lanes held at the
  old limits take their turns again.

  KEYS: prefix ring wake kgversion
  ARGV[1] mode: 'set' replaces an older version; 'seed' writes only if nothing was seeded
  ARGV[2] the version (the job table item's; each change counts it up)
  ARGV[3..] 4 fields per key group: id, concurrency, rateMax, rateMs ('' = not set at
    runtime: the jobs' own limits apply; 0 = no limit)

  Returns 1 written, 0 left alone (already seeded, or Redis holds this version or newer).
]]
--@include includes/keys.lua
--@include includes/groups.lua
--@include includes/key_groups.lua

local vkey = k.kgversion
local held = redis.call('GET', vkey)
if held and (ARGV[1] == 'seed' or tonumber(held) >= tonumber(ARGV[2])) then return 0 end
redis.call('SET', vkey, ARGV[2])
for i = 3, #ARGV, 4 do
  local id, key = ARGV[i], kg_key(ARGV[i])
  redis.call('HDEL', key, 'concurrency', 'rateMax', 'rateMs')
  if ARGV[i + 1] ~= '' then redis.call('HSET', key, 'concurrency', ARGV[i + 1]) end
  if ARGV[i + 2] ~= '' then
    redis.call('HSET', key, 'rateMax', ARGV[i + 2], 'rateMs', ARGV[i + 3])
  end
  if redis.call('EXISTS', key) == 1 then
    redis.call('SADD', kg_limited_key(), id)
  else
    redis.call('SREM', kg_limited_key(), id)
  end
  -- New limits: its held lanes are judged again at their next turn.
  kg_unpark(id, nil)
end
-- A raised limit may let held jobs start now.
if redis.call('LLEN', k.ring) > 0 then wake(k) end
return 1
