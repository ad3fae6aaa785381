-- Move due scheduled messages into the stream. Any worker runs it; each message lands once.
-- Also reports whether the queue is paused, so one round trip per tick serves both.
-- KEYS[1] scheduled sorted set, KEYS[2] scheduled messages hash, KEYS[3] queue stream,
-- KEYS[4] paused flag
-- ARGV[1] most messages to move in this call
-- Returns {moved, ms until the next one is due (-1: none scheduled), 1 if paused else 0}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(ids) do
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    redis.call('XADD', KEYS[3], '*', unpack(cjson.decode(raw)))
    redis.call('HDEL', KEYS[2], id)
  end
  redis.call('ZREM', KEYS[1], id)
end
local wait = -1
local next_due = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if next_due[2] then
  wait = math.max(tonumber(next_due[2]) - now, 0)
end
return {#ids, wait, redis.call('EXISTS', KEYS[4])}
