-- GET with a staff token (the script's first argument) as the bearer; the summary line as
-- bench/get.lua prints it.
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(dir .. "get.lua")

init = function(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
end
