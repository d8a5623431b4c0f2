--[[
  Publishes a batch on one shard: the idempotency check of every event first (all or nothing),
  then per event XADD to the history stream (trimmed to about HISTORY_SIZE), remember the key,
  and PUBLISH (or SPUBLISH) to the exact channel, every ancestor's subtree channel and the
  shard's wildcard channel; finally trim by age. Settings come from the meta hash, so every
  writer uses the deployment's values. The content digest a key is checked against is computed
  here, so every writer (gateway, SDK) compares content the same way.

  Message payload on every channel (one string, cheap to build here and to parse;
  relayed-message.ts parses and validates it):
    `1\n<epoch>\n<stream id>\n<topic>\n<event name or empty>\n<data>`
  Topic and event name cannot contain a newline; the data is everything after the fifth one.

  KEYS[1]   the shard's meta hash
  KEYS[2]   the shard's history stream
  KEYS[3..] one idempotency key per event that has one, in event order
  ARGV[1]   channel base, `<prefix>:{<tag>}:`
  ARGV[2]   publish command: PUBLISH, or SPUBLISH on Redis Cluster
  ARGV[3]   event count n
  ARGV[4..] 4 values per event: topic, event name ('' for none), data, and '1' when the event
            has an idempotency key ('' otherwise)

  Replies
  { epoch, stored count, id1, id2, ... }  one stream id per event, in order (a repeat's is the
                                          first one's)
  { 'conflict', key }  an idempotency key already holds other content; nothing was stored
  { 'nometa' }         the meta hash is missing (Redis lost its data)
]]

local meta = KEYS[1]
local stream = KEYS[2]
local m = redis.call('HMGET', meta, 'epoch', 'historySize', 'historyTtlMs', 'idempotencyTtlMs')
local epoch = m[1]
if not epoch then return { 'nometa' } end
local historySize = tonumber(m[2])
local ttl = tonumber(m[3])
local idemTtl = tonumber(m[4])
local base = ARGV[1]
local publishCommand = ARGV[2]
local n = tonumber(ARGV[3])
local ids = {}
local keyIndex = 3
local keyOf = {}
local seen = {}
-- Pass 1: decide every idempotent event before anything is stored.
local digests = {}
for i = 1, n do
  local at = 4 + (i - 1) * 4
  if ARGV[at + 3] ~= '' then
    -- NUL cannot occur in a topic or an event name, so the fields cannot run into each other.
    local digest = redis.sha1hex(ARGV[at] .. '\0' .. ARGV[at + 1] .. '\0' .. ARGV[at + 2])
    digests[i] = digest
    local key = KEYS[keyIndex]
    keyIndex = keyIndex + 1
    keyOf[i] = key
    local earlier = seen[key]
    if earlier then
      if earlier.digest ~= digest then return { 'conflict', key } end
      ids[i] = { repeatOf = earlier.index }
    else
      local stored = redis.call('GET', key)
      if stored then
        local sep = string.find(stored, '|', 1, true)
        if string.sub(stored, sep + 1) ~= digest then return { 'conflict', key } end
        ids[i] = { id = string.sub(stored, 1, sep - 1) }
      end
      seen[key] = { digest = digest, index = i }
    end
  end
end
-- Pass 2: store and relay, in order.
local out = { epoch, 0 }
local stored = 0
for i = 1, n do
  local at = 4 + (i - 1) * 4
  local topic, event, data, digest = ARGV[at], ARGV[at + 1], ARGV[at + 2], digests[i]
  local known = ids[i]
  if known and known.id then
    out[i + 2] = known.id
  elseif known and known.repeatOf then
    out[i + 2] = out[known.repeatOf + 2]
  else
    stored = stored + 1
    -- One entry more than HISTORY_SIZE is kept: the oldest one only marks where history
    -- starts, so a cursor equal to it still replays exactly the HISTORY_SIZE after it, and only
    -- an older cursor is history_trimmed (READ_SCRIPT). Approximate trimming removes whole stream
    -- nodes (100 entries by default): cheap, and "a few more" for large sizes; small sizes trim
    -- exactly, or a HISTORY_SIZE of 5 would keep 100.
    local id
    if historySize == 0 then
      id = redis.call('XADD', stream, 'MAXLEN', '=', 0, '*', 't', topic, 'e', event, 'd', data)
    elseif historySize >= 1000 then
      id = redis.call('XADD', stream, 'MAXLEN', '~', historySize + 1, '*', 't', topic, 'e', event, 'd', data)
    else
      id = redis.call('XADD', stream, 'MAXLEN', '=', historySize + 1, '*', 't', topic, 'e', event, 'd', data)
    end
    out[i + 2] = id
    if keyOf[i] then redis.call('SET', keyOf[i], id .. '|' .. digest, 'PX', idemTtl) end
    local message = '1\n' .. epoch .. '\n' .. id .. '\n' .. topic .. '\n' .. event .. '\n' .. data
    redis.call(publishCommand, base .. 't:' .. topic, message)
    local prefix = topic
    while true do
      redis.call(publishCommand, base .. 'sub:' .. prefix, message)
      local cut = string.match(prefix, '^(.*)/[^/]*$')
      if not cut then break end
      prefix = cut
    end
    redis.call(publishCommand, base .. 'all', message)
  end
end
-- Age trim (one command takes one strategy, so MAXLEN above and MINID here).
local now = redis.call('TIME')
local cutoff = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - ttl
if cutoff > 0 then redis.call('XTRIM', stream, 'MINID', '~', cutoff) end
out[2] = stored
return out
