--[[
  Starts a new epoch on a shard whose history went backwards (a failover to a replica that had
  not received the newest events): ids already delivered may be issued again, so the old epoch
  is retired and its cursors read as `history_lost` (DESIGN.md). Only when the stored epoch is
  still the one the caller saw, so two gateways detecting it at once bump it once.

  KEYS[1]  the shard's meta hash
  ARGV[1]  the epoch the caller saw
  ARGV[2]  the new epoch

  Replies
  the current epoch (ARGV[2] when this call retired ARGV[1]), or nil when the meta hash is
  missing
]]

local meta = KEYS[1]
local current = redis.call('HGET', meta, 'epoch')
if current ~= ARGV[1] then return current end
local past = redis.call('HGET', meta, 'pastEpochs') or ''
if past == '' then past = ARGV[1] else past = past .. ',' .. ARGV[1] end
redis.call('HSET', meta, 'epoch', ARGV[2], 'pastEpochs', past)
return ARGV[2]
