-- Extend the scheduler lease, only if this scheduler still holds it.
-- KEYS[1] leader key; ARGV[1] scheduler id, ARGV[2] lease (ms). Returns 1 if renewed, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
