--[[
PROTOTYPE FOR MEASUREMENT (bench/table-dedup/), not the product's store: the dedup window held in a packed
open-addressing table inside one Redis string per partition instead of one Redis key per event.

  KEYS[1]  batch record of (batch, partition): a hash { d = decisions, p = "1" once published }, as the product's
  KEYS[2]  the table: layout "string": a string of B buckets (created zero-filled by the first batch), a bucket read
           by GETRANGE and written by SETRANGE, one call each per event; layout "hash": a hash of bucket index (4
           binary bytes) -> bucket, all of a batch's buckets read by one HMGET and written by one HSET
  KEYS[3]  the receiver registry: a hash { <receiver id> = tag 1..14, "#<tag>" = receiver id, "#n" = tags handed out }
  ARGV[1]  receiver id of the batch
  ARGV[2]  dedup window in milliseconds
  ARGV[3]  batch record TTL in milliseconds
  ARGV[4]  the batch's event keys of this partition, 16 binary bytes each, concatenated (one argument, not one per event)
  ARGV[5]  the per-event fallback keys' prefix, "<ns>:{pN}:e:" (the product's key names, so both stores agree)
  ARGV[6]  the layout: "string" or "hash"
  ARGV[7]  S, slots per bucket (a bucket is 1 + 8 S bytes)
  ARGV[8]  B, buckets in the table
  ARGV[9]  layout "hash": each event's bucket index, 4 binary bytes big-endian, concatenated
  ARGV[8+2i], ARGV[9+2i]  layout "string": event i's bucket, its first and last byte offset in the string, in
           decimal. The worker computes the bucket (key bytes 3-6 as a big-endian u32, mod B) and, here, the offsets,
           because a Lua number turned into a command argument goes through printf("%.17g"), which cost more than
           the GETRANGE it feeds

  Returns  { reused, decisions, published, 0, stats }
           stats  "<table hits>,<table inserts>,<migrations>,<bucket-full inserts>,<untagged copies>,<key checks>,
                   <per-event key copies>": how often each path ran, so a run shows what fell back

A bucket: byte 1 the overflow stamp (non-zero while some event of this bucket may live in a per-event key), then S
slots of 8 bytes: fingerprint (key bytes 7-11), time stamp, and two receiver entries of one byte each (tag in the
high nibble, that receiver's count in the low one). The bucket index comes from key bytes 3-6 (bytes 1-2 pick the
partition, so they are the same for every key of a table).

The stamp is (floor(now / unit) mod 255) + 1 with unit = window / 8, 0 meaning empty. A slot whose stamp is more than
8 units old has left the window and is free: an event is remembered at least a window after its last copy and at
most a window plus one unit. No Redis expiry of per-event state at all. The stamps wrap after 255 units (about 32
windows): a slot untouched that long can look live again (see bench/table-dedup/README.md).

The counting rule is the product's (dedup-worker/lua/dedup-batch.lua): a copy from receiver r makes r's count n, and
it is unique (occurrence n) when n exceeds every other receiver's count. What a slot cannot hold (a third receiver, a
count past 15, a receiver without a tag, a bucket with no free slot) moves to the product's per-event key, with the
counts so far, so the decisions never depend on the table's capacity; the bucket's overflow stamp then tells later
copies that miss the table to look for a per-event key first.
]]
local record = redis.call('HMGET', KEYS[1], 'd', 'p')
if record[1] then return { 1, record[1], record[2] and 1 or 0, 0, '' } end

local receiver = ARGV[1]
local window = ARGV[2]
local packed = ARGV[4]
local prefix = ARGV[5]
local layout = ARGV[6]
local slots = tonumber(ARGV[7])
local buckets = tonumber(ARGV[8])
local fields = ARGV[9]
local tableKey = KEYS[2]
local registry = KEYS[3]
local BUCKET = 1 + 8 * slots
local LAST_STAMP = 8 * slots - 1

-- Redis's clock, not the workers': one clock for every stamp.
local time = redis.call('TIME')
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local unit = math.ceil(tonumber(window) / 8)
local now = math.floor(nowMs / unit) % 255 + 1

-- A stamp is live when it is not 0 and at most 8 units old: (now - stamp) % 255 <= 8, written out where it is used
-- (a Lua function call per slot costs more than the test).

if layout == 'string' and redis.call('STRLEN', tableKey) == 0 then
  redis.call('SETRANGE', tableKey, buckets * BUCKET - 1, '\0')
end

local tag = tonumber(redis.call('HGET', registry, receiver) or '0')
if tag == 0 then
  local n = redis.call('HINCRBY', registry, '#n', 1)
  if n <= 14 then
    tag = n
    redis.call('HSET', registry, receiver, n, '#' .. n, receiver)
  end
end

local hexOf = nil
local function keyName(base)
  if not hexOf then
    hexOf = {}
    for b = 0, 255 do hexOf[b] = string.format('%02x', b) end
  end
  local parts = { prefix }
  for j = 1, 16 do parts[j + 1] = hexOf[string.byte(packed, base + j)] end
  return table.concat(parts)
end

local firstCount = receiver .. '=1'
-- The product's per-event counting, unchanged (string values only: the prototype writes no hashes).
local function countCopy(key)
  local previous = redis.call('SET', key, firstCount, 'NX', 'PX', window, 'GET')
  if previous == false then return 1 end
  local own, others, rest = 0, 0, {}
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

-- Decisions as strings without printf: a number concatenated in Lua is formatted with "%.14g".
local DECISION = {}
for n = 0, 15 do DECISION[n] = string.format('%d', n) end

local cache = {} -- bucket (its offset or field, as a string) -> its bytes as this batch left them
local dirty = {} -- first offsets of the buckets this batch changed, in the order first changed
local dirtySet = {}
local function put(from, bytes)
  cache[from] = bytes
  if not dirtySet[from] then
    dirtySet[from] = true
    dirty[#dirty + 1] = from
  end
end

local hits, inserts, migrations, full, untagged, checks, keyCopies = 0, 0, 0, 0, 0, 0, 0
local decisions = {}
local eventCount = #packed / 16
local stampNow = string.char(now)
-- Calls hold at most MAX_ARGS arguments (the stack limit of unpack).
local MAX_ARGS = 6000
if layout == 'hash' then
  local empty = string.rep('\0', BUCKET)
  local wanted, seen = {}, {}
  for i = 1, eventCount do
    local field = string.sub(fields, i * 4 - 3, i * 4)
    if not seen[field] then
      seen[field] = true
      wanted[#wanted + 1] = field
    end
  end
  for first = 1, #wanted, MAX_ARGS do
    local last = math.min(#wanted, first + MAX_ARGS - 1)
    local values = redis.call('HMGET', tableKey, unpack(wanted, first, last))
    for j = first, last do cache[wanted[j]] = values[j - first + 1] or empty end
  end
end
for i = 1, eventCount do
  local base = i * 16 - 16
  local from, bytes
  if layout == 'hash' then
    from = string.sub(fields, i * 4 - 3, i * 4)
    bytes = cache[from]
  else
    from = ARGV[8 + 2 * i]
    bytes = cache[from]
    if not bytes then
      bytes = redis.call('GETRANGE', tableKey, from, ARGV[9 + 2 * i])
      cache[from] = bytes
    end
  end
  local fp = string.sub(packed, base + 7, base + 11)
  -- The fingerprint's first live, slot-aligned match (string.find runs in C; a match across slots is skipped).
  local found, at = nil, 2
  while true do
    local p = string.find(bytes, fp, at, true)
    if not p then break end
    local stamp = string.byte(bytes, p + 5)
    if (p - 2) % 8 == 0 and stamp ~= 0 and (now - stamp) % 255 <= 8 then
      found = p
      break
    end
    at = p + 1
  end
  local decision
  if found then
    local p = found
    local e1, e2 = string.byte(bytes, p + 6, p + 7)
    local t1, c1, t2, c2 = math.floor(e1 / 16), e1 % 16, math.floor(e2 / 16), e2 % 16
    local n
    if tag ~= 0 and t1 == tag and c1 < 15 then
      n = c1 + 1
      e1 = tag * 16 + n
      decision = n > c2 and n or 0
    elseif tag ~= 0 and t1 ~= tag and (t2 == tag or t2 == 0) and c2 < 15 then
      n = c2 + 1
      e2 = tag * 16 + n
      decision = n > c1 and n or 0
    end
    if n then
      hits = hits + 1
      put(from, string.sub(bytes, 1, p + 4) .. string.char(now, e1, e2) .. string.sub(bytes, p + 8))
    else
      -- The slot cannot count this copy: its counts move to the per-event key, which counts this copy and the rest.
      migrations = migrations + 1
      local name = keyName(base)
      local counts = {}
      for _, e in ipairs({ { t1, c1 }, { t2, c2 } }) do
        if e[1] ~= 0 then counts[#counts + 1] = redis.call('HGET', registry, '#' .. e[1]) .. '=' .. e[2] end
      end
      redis.call('SET', name, table.concat(counts, ','), 'PX', window)
      put(from, stampNow .. string.sub(bytes, 2, p - 1) .. '\0\0\0\0\0\0\0\0' .. string.sub(bytes, p + 8))
      keyCopies = keyCopies + 1
      decision = countCopy(name)
    end
  else
    local name
    local overflow = string.byte(bytes, 1)
    if overflow ~= 0 and (now - overflow) % 255 <= 8 then
      -- Some event of this bucket went to a per-event key within the window: this one may have.
      checks = checks + 1
      name = keyName(base)
      if redis.call('EXISTS', name) == 0 then name = nil end
    end
    local free
    if not name and tag ~= 0 then
      for k = 7, LAST_STAMP, 8 do -- k: slot's stamp byte
        local stamp = string.byte(bytes, k)
        if stamp == 0 or (now - stamp) % 255 > 8 then
          free = k - 5
          break
        end
      end
      if not free then full = full + 1 end
    elseif not name then
      untagged = untagged + 1
    end
    if free then
      inserts = inserts + 1
      put(from, string.sub(bytes, 1, free - 1) .. fp .. string.char(now, tag * 16 + 1, 0) .. string.sub(bytes, free + 8))
      decision = 1
    else
      keyCopies = keyCopies + 1
      put(from, stampNow .. string.sub(bytes, 2))
      decision = countCopy(name or keyName(base))
    end
  end
  decisions[i] = DECISION[decision] or tostring(decision)
end

-- Write back every bucket this batch changed, whole, as the batch left it: one SETRANGE per bucket at the offset the
-- worker sent as a string, or one HSET for them all.
if layout == 'hash' then
  local args = {}
  for _, field in ipairs(dirty) do
    args[#args + 1] = field
    args[#args + 1] = cache[field]
    if #args >= MAX_ARGS then
      redis.call('HSET', tableKey, unpack(args))
      args = {}
    end
  end
  if #args > 0 then redis.call('HSET', tableKey, unpack(args)) end
else
  for _, from in ipairs(dirty) do
    redis.call('SETRANGE', tableKey, from, cache[from])
  end
end

local encoded = table.concat(decisions, ',')
redis.call('HSET', KEYS[1], 'd', encoded)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return { 0, encoded, 0, 0, table.concat({ hits, inserts, migrations, full, untagged, checks, keyCopies }, ',') }
