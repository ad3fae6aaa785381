-- Renew this consumer's lease on entries it still owns (resets idle time without counting
-- a delivery); entries another consumer has claimed meanwhile are left alone.
-- KEYS[1] queue stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] idle ms to set, ARGV[4..] ids
-- Returns the number of entries renewed.
local renewed = 0
for i = 4, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p == 1 and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'JUSTID')
    renewed = renewed + 1
  end
end
return renewed
