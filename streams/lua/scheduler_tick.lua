-- Publish (or claim) one scheduler tick at most once, and only while holding the lease.
-- KEYS[1] leader key, KEYS[2] tick key for (job, slot), KEYS[3] the job's last-slot key,
-- KEYS[4] stream (absent: claim only)
-- ARGV[1] scheduler id, ARGV[2] tick key TTL (ms), ARGV[3] start of the slot (ms),
-- ARGV[4] last-slot key TTL (ms), ARGV[5..] stream entry field/value pairs
-- Returns -1 when not the leader, 0 when the tick was already taken (or a slot starting at
-- or after this one was), 1 when taken now. The last-slot key makes ticks monotonic, so a
-- scheduler whose clock is behind never repeats a slot after its tick key expired.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
local last = redis.call('GET', KEYS[3])
if last and tonumber(last) >= tonumber(ARGV[3]) then
  return 0
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 0
end
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
if #KEYS == 4 then
  redis.call('XADD', KEYS[4], '*', unpack(ARGV, 5))
end
return 1
