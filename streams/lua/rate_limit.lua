-- Take up to ARGV[3] tokens from a queue's rate limit, shared by all workers (GCRA).
-- KEYS[1] limiter state: the theoretical arrival time in microseconds (server clock)
-- ARGV[1] microseconds per token, ARGV[2] burst: most tokens ahead of the steady rate,
-- ARGV[3] tokens wanted
-- Returns {tokens granted, ms to wait before one is available (0 when granted)}.
-- Any window of length W grants at most burst + W / interval tokens.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
local available = math.floor((now + burst * interval - tat) / interval)
local granted = math.min(available, tonumber(ARGV[3]))
if granted > 0 then
  tat = tat + granted * interval
  local ttl_ms = math.ceil((tat - now) / 1000) + 1000
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', ttl_ms)
  return {granted, 0}
end
return {0, math.max(math.ceil((tat - (burst - 1) * interval - now) / 1000), 1)}
