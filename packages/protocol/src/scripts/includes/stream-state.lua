--[[
  Included by read.lua and check-position.lua (`--- @include "stream-state"`), which set
  `stream` to the history stream first. Defines the state of that stream: `lastGen` (its
  last-generated-id), `added` (entries-added), `length`, `first` (the first entry's id, or nil);
  an absent stream is empty with `0-0`. And `below(a, b)`: whether stream id a is older than b.
]]

local lastGen, added, length, first = '0-0', 0, 0, nil
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
end
