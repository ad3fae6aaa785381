-- Settle a failed delivery of an entry too big to copy in Lua (unpack() stops near 8,000
-- values). The client sends, in one MULTI/EXEC, an XADD of the dead letter (the entry's
-- fields, then dead_id, dead_error, dead_attempts, dead_at) followed by this script, so no
-- other command runs in between and that copy is the dead-letter stream's last entry. Keep it
-- and acknowledge the entry, or delete it again when the entry gets a retry or is not ours.
-- KEYS[1] queue stream, KEYS[2] dead-letter stream
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] entry id, ARGV[4] max attempts,
-- ARGV[5] idle ms to set for a retry, ARGV[6] '1' when the failure is permanent,
-- ARGV[7] the copy's dead_at
-- Returns 'retry', 'dead' or 'gone', like settle_failure.lua.
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local copy = last[1] and last[1][2] or {}
local n = #copy
if n < 8 or copy[n - 7] ~= 'dead_id' or copy[n - 6] ~= ARGV[3] or copy[n] ~= ARGV[7] then
  return redis.error_reply('ERR the dead letter of ' .. ARGV[3] .. ' was not added')
end
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then
  redis.call('XDEL', KEYS[2], last[1][1])
  return 'gone'
end
if ARGV[6] ~= '1' and tonumber(p[1][4]) < tonumber(ARGV[4]) then
  redis.call('XDEL', KEYS[2], last[1][1])
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[5], 'JUSTID')
  return 'retry'
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return 'dead'
