--[[
dedup-batch: count the copies of one batch's events in one partition and decide, once, which are unique; drop the
events of a sender chunk (Forward) that was already delivered in another batch.

  KEYS[1]          batch record of (batch, partition): a hash { d = decisions, r = chunk-resend drops, p = "1" once published }
  KEYS[2..N+1]     one dedup key per event of this partition, in batch order; each a string of the copies seen per
                   receiver, "<receiver id>=<count>" joined by "," (a hash { <receiver id> = count } written by
                   versions before 0.2 is still read and updated as a hash); for an event replicated from another
                   fleet (ARGV[7]) a string: the receiver that delivered it first
  KEYS[N+2..N+C+1] one chunk key per sender chunk with events in this partition, scoped to this batch's receiver;
                   each a string: the id of the batch that delivered the chunk first to that receiver
  ARGV[1]          receiver id of the batch (the field this batch counts in)
  ARGV[2]          dedup window in milliseconds (TTL of each dedup key, refreshed on every touch; TTL of a chunk key)
  ARGV[3]          batch record TTL in milliseconds
  ARGV[4]          batch id
  ARGV[5]          C, the number of chunk keys (0 when the batch carries no chunks)
  ARGV[6]          when C > 0: comma-separated, one per event, the 1-based index of its chunk key, or 0 for none
  ARGV[7]          empty, or one character per event: "1" for an event replicated from another fleet, "0" otherwise

  Returns          { reused, decisions, published, chunkResends }
                   reused        1 when the batch was counted before (a redelivery): its stored decisions, nothing counted
                   decisions     comma-separated, one per event: its occurrence number when unique, 0 when dropped
                   published     1 when the worker already marked the batch's unique events as published
                   chunkResends  how many of the 0 decisions are events of a resent chunk (not counted anywhere)

A copy from receiver r makes r's count n; it is unique (occurrence n) when n exceeds every other receiver's count.
So the first copy of an event is unique, later copies from other receivers are duplicates, a real repeat of the
same line (n = 2) is unique again, and a copy one receiver missed does not shift later decisions.

A replicated event is keyed by its original id, which already names its occurrence: there are no repeats to count,
and its copies may reach one receiver along several paths. So the first arrival is unique (1) and every later one,
from any receiver, a duplicate (0).

Why a string and `SET NX GET`: Redis spends its time on redis.call, not on Lua. The first copy of an event (half of
all copies at fan-out 2) costs one call that both creates the key and proves it new; a later copy costs two (that
call, which returns the counts, and a SET with the new counts and the refreshed window). The hash form cost three
calls per copy (HINCRBY, HGETALL, PEXPIRE) and about twice the memory (measured by `npm run bench:redis`).

A chunk key is set with NX: the first batch to deliver a chunk to this receiver owns it for the window. A chunk
whose key another batch owns is a resend to the same receiver after a lost ack: its events are dropped here and not
counted, so a later real repeat is not mistaken for a copy. The key is per receiver: the same chunk id at another
receiver (a forwarder that gives every output the same chunk id, or a resend after a failover) is counted per event,
where it is a duplicate. The same chunk twice in one batch counts once.
]]
local record = redis.call('HMGET', KEYS[1], 'd', 'p', 'r')
if record[1] then
  return { 1, record[1], record[2] and 1 or 0, tonumber(record[3] or '0') }
end

local receiver = ARGV[1]
local window = ARGV[2]
local firstCount = receiver .. '=1'

-- A key written by an older version: a hash of counts. Same rule, same result.
local function countCopyInHash(key)
  local n = redis.call('HINCRBY', key, receiver, 1)
  local counts = redis.call('HGETALL', key)
  redis.call('PEXPIRE', key, window)
  for j = 1, #counts, 2 do
    if counts[j] ~= receiver and tonumber(counts[j + 1]) >= n then return 0 end
  end
  return n
end

-- Counts this receiver's copy of one event; returns its occurrence number when unique, else 0.
local function countCopy(key)
  local previous = redis.pcall('SET', key, firstCount, 'NX', 'PX', window, 'GET')
  if previous == false then return 1 end -- the key was absent: the first copy from anyone
  if type(previous) == 'table' and previous.err then
    if string.find(previous.err, 'WRONGTYPE', 1, true) then return countCopyInHash(key) end
    return redis.error_reply(previous.err)
  end
  -- The common case at fan-out 2: one other receiver has counted this event once. No pattern matching needed.
  local eq = string.find(previous, '=', 1, true)
  if eq and not string.find(previous, ',', eq, true) and string.sub(previous, 1, eq - 1) ~= receiver then
    redis.call('SET', key, previous .. ',' .. firstCount, 'PX', window)
    if tonumber(string.sub(previous, eq + 1)) >= 1 then return 0 end
    return 1
  end
  local own = 0
  local others = 0
  local rest = {}
  for id, count in string.gmatch(previous, '([^,=]+)=(%d+)') do
    if id == receiver then
      own = tonumber(count)
    else
      local c = tonumber(count)
      if c > others then others = c end
      rest[#rest + 1] = id .. '=' .. count
    end
  end
  local n = own + 1
  rest[#rest + 1] = receiver .. '=' .. n
  redis.call('SET', key, table.concat(rest, ','), 'PX', window)
  if n > others then return n end
  return 0
end
local batchId = ARGV[4]
local chunkCount = tonumber(ARGV[5] or '0')
local eventCount = #KEYS - 1 - chunkCount

local resent = {}
if chunkCount > 0 then
  local owned = {}
  for c = 1, chunkCount do
    local chunkKey = KEYS[eventCount + 1 + c]
    if owned[chunkKey] then
      resent[c] = true
    else
      owned[chunkKey] = true
      if not redis.call('SET', chunkKey, batchId, 'NX', 'PX', window) then
        resent[c] = redis.call('GET', chunkKey) ~= batchId
      end
    end
  end
end

local slots = {}
if chunkCount > 0 then
  local i = 1
  for slot in string.gmatch(ARGV[6], '[^,]+') do
    slots[i] = tonumber(slot)
    i = i + 1
  end
end

-- The first arrival of a replicated event is unique; the key's window is refreshed by every arrival, like a count's.
local function firstArrival(key)
  if redis.call('SET', key, receiver, 'NX', 'PX', window) then return 1 end
  redis.call('PEXPIRE', key, window)
  return 0
end

local replicaFlags = ARGV[7] or ''
local decisions = {}
local chunkResends = 0
for i = 1, eventCount do
  local slot = slots[i] or 0
  if slot > 0 and resent[slot] then
    decisions[i] = 0
    chunkResends = chunkResends + 1
  elseif string.byte(replicaFlags, i) == 49 then -- "1"
    decisions[i] = firstArrival(KEYS[i + 1])
  else
    decisions[i] = countCopy(KEYS[i + 1])
  end
end

local encoded = table.concat(decisions, ',')
redis.call('HSET', KEYS[1], 'd', encoded, 'r', chunkResends)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return { 0, encoded, 0, chunkResends }
