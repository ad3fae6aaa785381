-- Publish one message now or at a due time, at most once per dedupe window when KEYS[4] is given.
-- KEYS[1] queue stream, KEYS[2] scheduled sorted set, KEYS[3] scheduled messages hash,
-- KEYS[4] dedupe key (optional)
-- ARGV[1] due time ms ('' : now + ARGV[2]), ARGV[2] delay ms, ARGV[3] id for a scheduled message,
-- ARGV[4] dedupe window ms (0: no dedupe), ARGV[5..] the entry's fields: name, value, ...
-- Returns {id, 1 if a duplicate else 0, due ms (-1 when added to the stream now)}.
if KEYS[4] then
  local first = redis.call('GET', KEYS[4])
  if first then
    local due = redis.call('ZSCORE', KEYS[2], first)
    return {first, 1, due and tonumber(due) or -1}
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = now + tonumber(ARGV[2])
if ARGV[1] ~= '' then
  due = tonumber(ARGV[1])
end
local fields = {}
for i = 5, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local id
if due <= now then
  id = redis.call('XADD', KEYS[1], '*', unpack(fields))
  due = -1
else
  id = ARGV[3]
  redis.call('HSET', KEYS[3], id, cjson.encode(fields))
  redis.call('ZADD', KEYS[2], due, id)
end
if KEYS[4] then
  redis.call('SET', KEYS[4], id, 'PX', ARGV[4])
end
return {id, 0, due}
