--[[
  Creates a shard's meta hash when it is missing (the first writer wins), or checks it; then
  applies the caller's settings when asked to (a gateway on start). Records the epoch the caller
  knew among the past epochs when the stored one differs (Redis lost its data and someone made a
  new one), so that epoch's cursors read as `history_lost`.

  KEYS[1]  the shard's meta hash
  ARGV[1]  protocol version (REDIS_PROTOCOL_VERSION)
  ARGV[2]  shard count (REDIS_SHARDS)
  ARGV[3]  candidate epoch: the epoch of a hash created now
  ARGV[4]  '1': write ARGV[5..8] over an existing hash; anything else: leave it
  ARGV[5]  history size (HISTORY_SIZE)
  ARGV[6]  history TTL, ms (HISTORY_TTL_MS)
  ARGV[7]  idempotency TTL, ms (IDEMPOTENCY_TTL_MS)
  ARGV[8]  largest event data, bytes (MAX_EVENT_BYTES)
  ARGV[9]  the epoch the caller knew, '' for none
  ARGV[10] optional: '0' when the caller has no settings of its own (a publisher without them):
           a missing hash is then not created (SPEC 9: only a writer that knows the
           deployment's settings may create it). Absent or anything else: create.

  Replies
  { 'ok', epoch, historySize, historyTtlMs, idempotencyTtlMs, maxEventBytes }
  { 'mismatch', field ('version' or 'shards'), stored value ('' when unset) }
  { 'nometa' }  the hash is missing and ARGV[10] is '0'
]]

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
