-- Publish (or claim) one scheduler tick at most once, and only while holding the lease.
-- KEYS[1] leader key, KEYS[2] tick key for (job, slot), KEYS[3] stream (absent: claim only)
-- ARGV[1] scheduler id, ARGV[2] tick key TTL (ms), ARGV[3..] stream entry field/value pairs
-- Returns -1 when not the leader, 0 when the tick was already taken, 1 when taken now.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 0
end
if #KEYS == 3 then
  redis.call('XADD', KEYS[3], '*', unpack(ARGV, 3))
end
return 1
