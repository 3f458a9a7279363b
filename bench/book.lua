-- POST /api/v1/bookings (or /api/v1/holds, or /fhir/Appointment), each request a different free slot: the ids come from the file named
-- by the first script argument; thread t of n takes lines t, t+n, t+2n, ...
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  ids = {}
  local f = assert(io.open(args[1]))
  for line in f:lines() do ids[#ids + 1] = line end
  f:close()
  step = tonumber(args[2])
  idx = tid + 1
  created, server_errors = 0, 0
end

-- The URL's path says what to post: a booking (the default), or a hold (/api/v1/holds).
function request()
  local id = ids[idx] or ids[#ids]
  -- An address per request: the booking rules allow one address only a few upcoming visits.
  local n = idx
  idx = idx + step
  local headers = {["Content-Type"] = "application/json"}
  if wrk.path == "/api/v1/holds" then
    -- Each hold from another patient's address, as a proxy in front would say (the server
    -- trusts 127.0.0.1 as its proxy for this row): one address keeps only 4 holds at once.
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
    return wrk.format("POST", wrk.path, headers, '{"slot_id":' .. id .. '}')
  end
  if wrk.path == "/fhir/Appointment" then
    -- The same booking as a patient's app sends it through FHIR (issue 17).
    headers["Content-Type"] = "application/fhir+json"
    return wrk.format("POST", wrk.path, headers,
      '{"resourceType":"Appointment","status":"booked","slot":[{"reference":"Slot/' .. id .. '"}],'
      .. '"contained":[{"resourceType":"Patient","id":"p","name":[{"text":"Bench Patient"}],'
      .. '"telecom":[{"system":"email","value":"bench-' .. n .. '@example.com"}]}],'
      .. '"participant":[{"actor":{"reference":"#p"},"status":"accepted"}]}')
  end
  return wrk.format("POST", "/api/v1/bookings", headers,
    '{"slot_id":' .. id .. ',"patient":{"name":"Bench Patient","email":"bench-' .. n .. '@example.com"}}')
end

function response(status, headers, body)
  if status == 201 then created = created + 1 end
  if status >= 500 then server_errors = server_errors + 1 end
end

done = function(summary, latency, requests)
  local c, s = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    s = s + t:get("server_errors")
  end
  local e = summary.errors
  io.write(string.format("WRKRESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d non2xx=%d sockerr=%d created=%d server_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout, c, s))
end
