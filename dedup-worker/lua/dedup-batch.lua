--[[
dedup-batch: count the copies of one batch's events in one partition and decide, once, which are unique.

  KEYS[1]     batch record of (batch, partition): a hash { d = decisions, p = "1" once published }
  KEYS[2..N]  one dedup key per event, in batch order; each a hash { <receiver id> = copies seen from it }
  ARGV[1]     receiver id of the batch (the field this batch counts in)
  ARGV[2]     dedup window in milliseconds (TTL of each dedup key, refreshed on every touch)
  ARGV[3]     batch record TTL in milliseconds

  Returns     { reused, decisions, published }
              reused     1 when the batch was counted before (a redelivery): its stored decisions, nothing counted
              decisions  comma-separated, one per event: its occurrence number when unique, 0 when a duplicate
              published  1 when the worker already marked the batch's unique events as published

A copy from receiver r makes r's count n; it is unique (occurrence n) when n exceeds every other receiver's count.
So the first copy of an event is unique, later copies from other receivers are duplicates, a real repeat of the
same line (n = 2) is unique again, and a copy one receiver missed does not shift later decisions.
]]
local record = redis.call('HMGET', KEYS[1], 'd', 'p')
if record[1] then
  return { 1, record[1], record[2] and 1 or 0 }
end

local receiver = ARGV[1]
local window = ARGV[2]
local decisions = {}
for i = 2, #KEYS do
  local key = KEYS[i]
  local n = redis.call('HINCRBY', key, receiver, 1)
  local counts = redis.call('HGETALL', key)
  local unique = true
  for j = 1, #counts, 2 do
    if counts[j] ~= receiver and tonumber(counts[j + 1]) >= n then
      unique = false
      break
    end
  end
  redis.call('PEXPIRE', key, window)
  decisions[i - 1] = unique and n or 0
end

local encoded = table.concat(decisions, ',')
redis.call('HSET', KEYS[1], 'd', encoded)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return { 0, encoded, 0 }
