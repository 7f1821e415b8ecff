-- GET <wrk.path><n, 7 digits> for n in [0, count), spread by a stride; IDNODE_COUNT = 0
-- means always wrk.path itself.
package.path = package.path .. ";" .. os.getenv("IDNODE_WRK_DIR") .. "/?.lua"
local report = require("report")
local count = tonumber(os.getenv("IDNODE_COUNT") or "0")
local base = wrk.path
local n = 0

request = function()
  if count == 0 then
    return wrk.format("GET", base)
  end
  n = (n + 7919) % count
  return wrk.format("GET", base .. string.format("%07d", n))
end

done = report.done
