/**
 * The Lua scripts every writer and reader of a deployment's Redis runs (DESIGN.md "Data path"),
 * shared by the gateway and the publisher SDK so there is one source of truth for the wire
 * format. Each runs on one shard: all its keys share the shard's hash tag, so it is atomic on
 * Redis Cluster too.
 *
 * Message payload on every channel (one string, cheap to build in Lua and to parse):
 *   `1\n<epoch>\n<stream id>\n<topic>\n<event name or empty>\n<data>`
 * Topic and event name cannot contain a newline; the data is everything after the fifth one.
 * relayed-message.ts parses and validates it.
 */

/** Protocol version stored in each shard's meta hash; a writer of another version refuses to run. */
export const REDIS_PROTOCOL_VERSION = '1';

/**
 * Creates the shard's meta hash when missing (first writer wins), or checks it. Then applies
 * the caller's settings when `apply` is 1 (a gateway on start).
 *
 * KEYS[1] meta hash. ARGV: version, shard count, candidate epoch, apply (0/1), history size,
 * history TTL ms, idempotency TTL ms, max event bytes, and the epoch the caller knew ('' for
 * none): when the stored epoch differs (Redis lost its data and someone made a new one), the
 * known one is added to `pastEpochs`, so its cursors read as `history_lost`. Optional ARGV[10]:
 * '0' when the caller has no settings of its own (a publisher without them): a missing hash is
 * then not created, and the reply is `{ 'nometa' }` (SPEC 9: only a writer that knows the
 * deployment's settings may create it). Absent or anything else: create.
 * Returns `{ 'ok', epoch, historySize, historyTtlMs, idempotencyTtlMs, maxEventBytes }`,
 * `{ 'mismatch', field, stored }` or `{ 'nometa' }`.
 */
export const ENSURE_META_SCRIPT = `
local meta = KEYS[1]
if redis.call('EXISTS', meta) == 0 then
  if ARGV[10] == '0' then return { 'nometa' } end
  redis.call('HSET', meta, 'version', ARGV[1], 'shards', ARGV[2], 'epoch', ARGV[3], 'pastEpochs', '',
    'historySize', ARGV[5], 'historyTtlMs', ARGV[6], 'idempotencyTtlMs', ARGV[7], 'maxEventBytes', ARGV[8])
  if ARGV[9] ~= '' and ARGV[9] ~= ARGV[3] then redis.call('HSET', meta, 'pastEpochs', ARGV[9]) end
else
  local version = redis.call('HGET', meta, 'version')
  if version ~= ARGV[1] then return { 'mismatch', 'version', version or '' } end
  local shards = redis.call('HGET', meta, 'shards')
  if shards ~= ARGV[2] then return { 'mismatch', 'shards', shards or '' } end
  if ARGV[4] == '1' then
    redis.call('HSET', meta, 'historySize', ARGV[5], 'historyTtlMs', ARGV[6],
      'idempotencyTtlMs', ARGV[7], 'maxEventBytes', ARGV[8])
  end
end
local known = ARGV[9]
local current = redis.call('HGET', meta, 'epoch')
if known ~= '' and known ~= current then
  local past = redis.call('HGET', meta, 'pastEpochs') or ''
  local listed = false
  for e in string.gmatch(past, '[^,]+') do if e == known then listed = true end end
  if not listed then
    if past == '' then past = known else past = past .. ',' .. known end
    redis.call('HSET', meta, 'pastEpochs', past)
  end
end
local v = redis.call('HMGET', meta, 'epoch', 'historySize', 'historyTtlMs', 'idempotencyTtlMs', 'maxEventBytes')
return { 'ok', v[1], v[2], v[3], v[4], v[5] }
`;

/**
 * Publishes a batch on one shard: idempotency check for every event first (all or nothing), then
 * per event XADD to the history stream (trimmed to about HISTORY_SIZE), remember the key, and
 * PUBLISH (or SPUBLISH) to the exact channel, every ancestor's subtree channel and the shard's
 * wildcard channel; finally trim by age. Settings come from the meta hash, so every publisher
 * uses the deployment's values.
 *
 * KEYS[1] meta, KEYS[2] stream, KEYS[3..] one idempotency key per event that has one (in order).
 * ARGV[1] channel base (`<prefix>:{<tag>}:`), ARGV[2] publish command (PUBLISH or SPUBLISH),
 * ARGV[3] event count n, then 4 values per event: topic, event name ('' for none), data, and
 * '1' when the event has an idempotency key ('' otherwise). The content digest a key is checked
 * against is computed here, so every writer (gateway, SDK) compares content the same way.
 * Returns `{ epoch, stored count, id1, id2, … }`, `{ 'conflict', key }` or `{ 'nometa' }`.
 */
export const PUBLISH_SCRIPT = `
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
    local message = '1\\n' .. epoch .. '\\n' .. id .. '\\n' .. topic .. '\\n' .. event .. '\\n' .. data
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
`;

/**
 * Lua shared by READ_SCRIPT and CHECK_POSITION_SCRIPT: the state of the history stream `stream`
 * (`lastGen`, `added` = entries-added, `length`, `first` entry id or nil; an absent stream is
 * empty with `0-0`), and `below(a, b)`, the order of two stream ids.
 */
const STREAM_STATE = `local lastGen, added, length, first = '0-0', 0, 0, nil
if redis.call('EXISTS', stream) == 1 then
  local info = redis.call('XINFO', 'STREAM', stream)
  for i = 1, #info, 2 do
    local k = info[i]
    if k == 'last-generated-id' then lastGen = info[i + 1]
    elseif k == 'entries-added' then added = info[i + 1]
    elseif k == 'length' then length = info[i + 1]
    elseif k == 'first-entry' and info[i + 1] then first = info[i + 1][1] end
  end
end
local function parse(id)
  local sep = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, sep - 1)), tonumber(string.sub(id, sep + 1))
end
local function below(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end`;

/**
 * Reads a page of one shard's history after a cursor, with the verdict on the cursor
 * (DESIGN.md "Deciding a resume cursor"; never `max-deleted-entry-id`, which trimming does not
 * move in Redis 7.0).
 *
 * KEYS[1] meta, KEYS[2] stream. ARGV[1] cursor epoch ('' for earliest), ARGV[2] cursor stream id
 * ('' for earliest), ARGV[3] page size, ARGV[4] history TTL ms (entries older are trimmed first).
 * Returns `{ verdict, epoch, lastGeneratedId, [id, topic, event, data]… }` with verdict one of
 * ok, trimmed, unknown, lost (only `ok` carries entries), or `{ 'nometa' }`.
 */
export const READ_SCRIPT = `
local meta = KEYS[1]
local stream = KEYS[2]
local m = redis.call('HMGET', meta, 'epoch', 'pastEpochs', 'historySize')
local epoch = m[1]
if not epoch then return { 'nometa' } end
local now = redis.call('TIME')
local cutoff = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[4])
if cutoff > 0 then redis.call('XTRIM', stream, 'MINID', cutoff) end
${STREAM_STATE}
local count = tonumber(ARGV[3])
local from = '-'
if ARGV[1] ~= '' then
  local cursor = ARGV[2]
  if ARGV[1] ~= epoch then
    for past in string.gmatch(m[2] or '', '[^,]+') do
      if past == ARGV[1] then return { 'lost', epoch, lastGen } end
    end
    return { 'unknown', epoch, lastGen }
  end
  if below(lastGen, cursor) then return { 'unknown', epoch, lastGen } end
  if tonumber(m[3]) == 0 then return { 'trimmed', epoch, lastGen } end
  if length == 0 then
    if below(cursor, lastGen) then return { 'trimmed', epoch, lastGen } end
    return { 'ok', epoch, lastGen }
  end
  if first and below(cursor, first) and added > length then return { 'trimmed', epoch, lastGen } end
  from = '(' .. cursor
end
local out = { 'ok', epoch, lastGen }
local entries = redis.call('XRANGE', stream, from, '+', 'COUNT', count)
for _, entry in ipairs(entries) do
  local f = entry[2]
  local t, e, d = '', '', ''
  for i = 1, #f, 2 do
    if f[i] == 't' then t = f[i + 1] elseif f[i] == 'e' then e = f[i + 1] elseif f[i] == 'd' then d = f[i + 1] end
  end
  out[#out + 1] = entry[1]
  out[#out + 1] = t
  out[#out + 1] = e
  out[#out + 1] = d
end
return out
`;

/**
 * The newest position of a shard: `{ epoch, lastGeneratedId }`, or `{ 'nometa' }`.
 * KEYS[1] meta, KEYS[2] stream.
 */
export const HEAD_SCRIPT = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return { 'nometa' } end
if redis.call('EXISTS', KEYS[2]) == 0 then return { epoch, '0-0' } end
local info = redis.call('XINFO', 'STREAM', KEYS[2])
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then return { epoch, info[i + 1] } end
end
return { epoch, '0-0' }
`;

/**
 * Starts a new epoch on a shard whose history went backwards (a failover to a replica that had
 * not received the newest events): ids already delivered may be issued again, so the old epoch
 * is retired and its cursors read as `history_lost` (DESIGN.md). Only when the stored epoch is
 * still the one the caller saw, so two gateways detecting it at once bump it once.
 *
 * KEYS[1] meta. ARGV[1] the epoch the caller saw, ARGV[2] the new epoch.
 * Returns the current epoch.
 */
export const BUMP_EPOCH_SCRIPT = `
local meta = KEYS[1]
local current = redis.call('HGET', meta, 'epoch')
if current ~= ARGV[1] then return current end
local past = redis.call('HGET', meta, 'pastEpochs') or ''
if past == '' then past = ARGV[1] else past = past .. ',' .. ARGV[1] end
redis.call('HSET', meta, 'epoch', ARGV[2], 'pastEpochs', past)
return ARGV[2]
`;

/**
 * Checks that the last position a replica's relay saw on a shard is still in that shard's
 * history, before the relay backfills after it (DESIGN.md "Relay recovery"). This is how history
 * that went backwards is found without trusting wall-clock stream ids or a counter the new master
 * can grow past again: a failover to a replica that was behind, or a restart that lost writes,
 * leaves a position the relay saw missing from a stream that still covers it.
 *
 * KEYS[1] meta, KEYS[2] stream. ARGV[1] the epoch the relay knew, ARGV[2] the stream id it saw
 * last (`0-0` when it saw none).
 * Returns one of:
 * - `{ 'ok', lastGeneratedId }`: the position is in history (or is `0-0` and nothing was ever
 *   lost), backfill after it up to the stream's newest id (nothing to read when they are equal);
 * - `{ 'trimmed' }`: the position is older than the retained history (an outage longer than the
 *   history covers): the events after it cannot all be backfilled;
 * - `{ 'backwards' }`: the position is missing though the history would hold it (or is above the
 *   newest id): the stored history went backwards, and ids the relay delivered may be issued
 *   again, so its epoch must be retired;
 * - `{ 'epoch', current }`: the shard's epoch is no longer the one the relay knew;
 * - `{ 'nometa' }`: the meta hash is gone (Redis lost its data).
 *
 * Entries are never deleted one by one (no XDEL), only trimmed from the front, so a missing
 * position at or above the first entry, or below it while nothing was ever trimmed
 * (`entries-added` = `length`), cannot be explained by trimming.
 */
export const CHECK_POSITION_SCRIPT = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return { 'nometa' } end
if epoch ~= ARGV[1] then return { 'epoch', epoch } end
local seen = ARGV[2]
local stream = KEYS[2]
${STREAM_STATE}
if below(lastGen, seen) then return { 'backwards' } end
if seen == '0-0' then
  if added > length then return { 'trimmed' } end
  return { 'ok', lastGen }
end
if seen == lastGen and length == 0 then
  if added > 0 then return { 'ok', lastGen } end
  return { 'backwards' }
end
if #redis.call('XRANGE', stream, seen, seen) == 1 then return { 'ok', lastGen } end
if first and below(seen, first) and added > length then return { 'trimmed' } end
if not first and added > 0 then return { 'trimmed' } end
return { 'backwards' }
`;
