-- Settle a failed delivery atomically: schedule a retry or move to dead letters.
-- KEYS[1] queue stream, KEYS[2] dead-letter stream
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] entry id, ARGV[4] max attempts,
-- ARGV[5] idle ms to set for a retry (visibility timeout - backoff), ARGV[6] error text,
-- ARGV[7] now ms, ARGV[8] '1' when the failure is permanent
-- Returns 'retry', 'dead', or 'gone' (no longer pending with this consumer: someone else owns it).
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then
  return 'gone'
end
local deliveries = tonumber(p[1][4])
if ARGV[8] ~= '1' and deliveries < tonumber(ARGV[4]) then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[5], 'JUSTID')
  return 'retry'
end
local found = redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3])
local out = {}
if #found == 1 then
  local fields = found[1][2]
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 5) ~= 'dead_' then
      out[#out + 1] = fields[i]; out[#out + 1] = fields[i + 1]
    end
  end
end
for _, v in ipairs({'dead_id', ARGV[3], 'dead_error', ARGV[6], 'dead_attempts', deliveries, 'dead_at', ARGV[7]}) do
  out[#out + 1] = v
end
redis.call('XADD', KEYS[2], '*', unpack(out))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return 'dead'
