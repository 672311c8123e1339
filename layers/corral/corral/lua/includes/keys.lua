--[[
  Every key a script formats from the queue's prefix (k.prefix, "corral:{queue}:"), so
  that all share the queue's hash tag; keys.py formats the same ones (QueueKeys.job,
  .logs, .group, .lane, ...). The fixed keys come by name in k, as the script's KEYS line
  declares them.
]]
local function job_key(id)
  return k.prefix .. 'job:' .. id
end
-- A job's log lines: a list that lives and dies with the job's hash.
local function logs_key(id)
  return k.prefix .. 'logs:' .. id
end
-- A group's (tenant's) waiting jobs: a zset by priority, then sequence.
local function group_key(group)
  return k.prefix .. 'group:' .. group
end
local function dedup_key(dedup_id)
  return k.prefix .. 'dedup:' .. dedup_id
end
-- A key group's limits set at runtime, and its recent starts (includes/key_groups.lua).
local function kg_key(id)
  return k.prefix .. 'kg:' .. id
end
local function kg_rate_key(id)
  return k.prefix .. 'kg:' .. id .. ':rate'
end
-- Tenants whose lane of a key group is held at its limits (includes/key_groups.lua).
local function kg_parked_key(id)
  return k.prefix .. 'kg:' .. id .. ':parked'
end
-- A tenant's jobs of one key group (a zset as group_key), and its lanes' turn (a list).
local function lane_key(group, kid)
  return k.prefix .. 'group:' .. group .. ':kg:' .. kid
end
local function kring_key(group)
  return k.prefix .. 'kring:' .. group
end
-- The queue's key group lanes (includes/groups.lua) and held key groups (key_groups.lua).
local function kg_lanes_key()
  return k.prefix .. 'kglanes'
end
local function kg_waiting_key()
  return k.prefix .. 'kgwaiting'
end
local function kg_held_key()
  return k.prefix .. 'kgheld'
end
local function kg_limited_key()
  return k.prefix .. 'kglimited'
end
-- A flow parent's children's results and failures, by child id.
local function results_key(id)
  return k.prefix .. 'job:' .. id .. ':results'
end
local function failures_key(id)
  return k.prefix .. 'job:' .. id .. ':failures'
end
-- One minute's completed and failed counts (settle.lua, throughput.lua).
local function minute_key(minute)
  return k.prefix .. 'minute:' .. minute
end
