--[[
  The newest position of a shard.

  KEYS[1]  the shard's meta hash
  KEYS[2]  the shard's history stream

  Replies
  { epoch, lastGeneratedId }  `0-0` when the stream is empty or absent
  { 'nometa' }                the meta hash is missing (Redis lost its data)
]]

local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return { 'nometa' } end
if redis.call('EXISTS', KEYS[2]) == 0 then return { epoch, '0-0' } end
local info = redis.call('XINFO', 'STREAM', KEYS[2])
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then return { epoch, info[i + 1] } end
end
return { epoch, '0-0' }
