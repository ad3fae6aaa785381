-- Give up the scheduler lease, only if this scheduler still holds it.
-- KEYS[1] leader key; ARGV[1] scheduler id. Returns 1 if released, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
