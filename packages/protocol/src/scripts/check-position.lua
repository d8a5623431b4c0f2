--[[
  Checks that the last position a replica's relay saw on a shard is still in that shard's
  history, before the relay backfills after it (DESIGN.md "Relay recovery"). This is how history
  that went backwards is found without trusting wall-clock stream ids or a counter the new
  master can grow past again: a failover to a replica that was behind, or a restart that lost
  writes, leaves a position the relay saw missing from a stream that still covers it.

  Entries are never deleted one by one (no XDEL), only trimmed from the front, so a missing
  position at or above the first entry, or below it while nothing was ever trimmed
  (`entries-added` = `length`), cannot be explained by trimming.

  KEYS[1]  the shard's meta hash
  KEYS[2]  the shard's history stream
  ARGV[1]  the epoch the relay knew
  ARGV[2]  the stream id it saw last, `0-0` when it saw none

  Replies
  { 'ok', lastGeneratedId }  the position is in history (or is `0-0` and nothing was ever
                             lost): backfill after it up to the stream's newest id (nothing to
                             read when they are equal)
  { 'trimmed' }    the position is older than the retained history (an outage longer than the
                   history covers): the events after it cannot all be backfilled
  { 'backwards' }  the position is missing though the history would hold it (or is above the
                   newest id): the stored history went backwards, and ids the relay delivered
                   may be issued again, so its epoch must be retired
  { 'epoch', current }  the shard's epoch is no longer the one the relay knew
  { 'nometa' }     the meta hash is missing (Redis lost its data)
]]

local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return { 'nometa' } end
if epoch ~= ARGV[1] then return { 'epoch', epoch } end
local seen = ARGV[2]
local stream = KEYS[2]
--- @include "stream-state"
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
