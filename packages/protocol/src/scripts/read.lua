--[[
  Reads a page of one shard's history after a cursor, with the verdict on the cursor
  (DESIGN.md "Deciding a resume cursor"; never `max-deleted-entry-id`, which trimming does not
  move in Redis 7.0). Entries older than the history TTL are trimmed first.

  KEYS[1]  the shard's meta hash
  KEYS[2]  the shard's history stream
  ARGV[1]  the cursor's epoch, '' for the earliest entry
  ARGV[2]  the cursor's stream id, '' for the earliest entry
  ARGV[3]  page size, entries
  ARGV[4]  history TTL, ms

  Replies
  { 'ok', epoch, lastGeneratedId, [id, topic, event ('' for none), data]... }
  { 'trimmed' | 'unknown' | 'lost', epoch, lastGeneratedId }  no entries
  { 'nometa' }  the meta hash is missing (Redis lost its data)
]]

local meta = KEYS[1]
local stream = KEYS[2]
local m = redis.call('HMGET', meta, 'epoch', 'pastEpochs', 'historySize')
local epoch = m[1]
if not epoch then return { 'nometa' } end
local now = redis.call('TIME')
local cutoff = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[4])
if cutoff > 0 then redis.call('XTRIM', stream, 'MINID', cutoff) end
--- @include "stream-state"
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
