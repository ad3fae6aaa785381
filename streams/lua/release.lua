-- Hand entries back at shutdown: make them claimable at once. An entry that never started
-- gets its delivery count back (one less), so the claim that delivers it again does not
-- count this worker's hand-back as an attempt.
-- KEYS[1] queue stream; ARGV[1] group, ARGV[2] consumer, ARGV[3] idle ms to set,
-- ARGV[4] how many of the ids (the first ones) never started, ARGV[5..] ids
-- Returns the number of entries handed back; entries others own meanwhile are left alone.
local released = 0
local unstarted = tonumber(ARGV[4])
for i = 5, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p == 1 and p[1][2] == ARGV[2] then
    local count = tonumber(p[1][4])
    if i - 4 <= unstarted and count > 0 then
      count = count - 1
    end
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3],
      'RETRYCOUNT', count, 'JUSTID')
    released = released + 1
  end
end
return released
