-- PUT /api/handles/<prefix>/<run>-<thread>-<n>?overwrite=false with Basic authentication:
-- every request creates a new handle. IDNODE_AUTH is the Basic token, IDNODE_RUN a tag.
package.path = package.path .. ";" .. os.getenv("IDNODE_WRK_DIR") .. "/?.lua"
local report = require("report")
local threads = {}
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local n = 0
local body = '[{"index":1,"type":"URL","data":"https://example.org/bench"},' ..
             '{"index":2,"type":"DESC","data":"benchmark record"},' ..
             '{"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":' ..
             '{"handle":"' .. os.getenv("IDNODE_ADMIN") .. '","index":200,' ..
             '"permissions":"011111110011"}}}]'
local headers = {["Authorization"] = "Basic " .. os.getenv("IDNODE_AUTH"),
                 ["Content-Type"] = "application/json"}

request = function()
  n = n + 1
  local path = wrk.path .. os.getenv("IDNODE_RUN") .. "-" .. id .. "-" .. n ..
               "?overwrite=false"
  return wrk.format("PUT", path, headers, body)
end

response = function(status, hdrs, resp_body)
  if status ~= 201 then
    io.stderr:write("create failed: " .. status .. " " .. resp_body .. "\n")
  end
end

done = report.done
