-- Cancel a scheduled message, and free its dedupe key when the key still names it.
-- KEYS[1] scheduled sorted set, KEYS[2] scheduled messages hash, KEYS[3] dedupe key (optional)
-- ARGV[1] scheduled message id
-- Returns 1 when cancelled, 0 when it was not scheduled (already due, cancelled, unknown).
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if removed == 1 and KEYS[3] and redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
end
return removed
