-- Apply a stream's hard cap to one page of its oldest entries, counting those some consumer
-- group had not finished (not read yet, or read and still pending); when no group exists,
-- every entry counts as unfinished. Finished entries are cut without being counted.
-- KEYS[1] queue stream, KEYS[2] queue stats hash
-- ARGV[1] the cap (most entries to keep), ARGV[2] most entries to cut in this call
-- Adds the unfinished entries cut to the stats field cut_by_cap.
-- Returns {entries cut, of which unfinished, entries still over the cap}.
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then
  return {0, 0, 0}
end
local n = math.min(excess, tonumber(ARGV[2]))
local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', n)

-- Ids are "ms-seq" with 64-bit parts, beyond what Lua numbers hold exactly: compare as text.
local function below(a, b)
  if #a ~= #b then
    return #a < #b
  end
  return a < b
end
local function after(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if am ~= bm then
    return below(bm, am)
  end
  return below(bs, as)
end

local unfinished = {}
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
for _, raw in ipairs(groups) do
  local group = {}
  for i = 1, #raw, 2 do
    group[raw[i]] = raw[i + 1]
  end
  for _, entry in ipairs(entries) do
    if after(entry[1], group['last-delivered-id']) then
      unfinished[entry[1]] = true
    end
  end
  local pending = tonumber(group['pending'])
  if pending > 0 then
    -- COUNT is the group's whole pending count: ids deleted from the stream may still be
    -- pending in this range, and must not crowd out those of entries we cut.
    local first, last = entries[1][1], entries[#entries][1]
    for _, row in ipairs(redis.call('XPENDING', KEYS[1], group['name'], first, last, pending)) do
      unfinished[row[1]] = true
    end
  end
end
local count = 0
for _, entry in ipairs(entries) do
  if #groups == 0 or unfinished[entry[1]] then
    count = count + 1
  end
end
local cut = redis.call('XTRIM', KEYS[1], 'MAXLEN', redis.call('XLEN', KEYS[1]) - n)
if count > 0 then
  redis.call('HINCRBY', KEYS[2], 'cut_by_cap', count)
end
return {cut, count, excess - n}
