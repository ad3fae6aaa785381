-- Delete a consumer from its group only when it holds no pending entries: deleting a
-- consumer with pending entries would make them unclaimable.
-- KEYS[1] queue stream; ARGV[1] group, ARGV[2] consumer. Returns 1 when deleted.
local ok, p = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if not ok or #p > 0 then
  return 0
end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
