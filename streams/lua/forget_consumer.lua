-- Delete a consumer from its group only when it holds no pending entries: deleting a
-- consumer with pending entries would make them unclaimable. With ARGV[3], only when it has
-- also been idle for at least that many ms (checked here too, so a consumer that read
-- meanwhile is kept).
-- KEYS[1] queue stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] (optional) min idle ms.
-- Returns 1 when deleted.
local ok, p = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if not ok or #p > 0 then
  return 0
end
if ARGV[3] then
  local idle = nil
  for _, raw in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
    local consumer = {}
    for i = 1, #raw, 2 do
      consumer[raw[i]] = raw[i + 1]
    end
    if consumer['name'] == ARGV[2] then
      idle = tonumber(consumer['idle'])
    end
  end
  if idle == nil or idle < tonumber(ARGV[3]) then
    return 0
  end
end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
