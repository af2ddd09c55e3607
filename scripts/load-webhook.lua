-- wrk script for scripts/load-webhook.sh. Arguments after `--`: the pool file (one
-- "<X-Hub-Signature-256>\t<body>" per line) and the thread count. Each thread POSTs its share
-- of the pool in order, wrapping round when it runs out. `done` prints a markdown table row,
-- labelled from LOAD_BODIES and LOAD_CONNECTIONS.

local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

local requests = {}
local at = 0

function init(args)
  local path, threads = args[1], tonumber(args[2])
  local lines = {}
  for line in io.lines(path) do
    lines[#lines + 1] = line
  end
  -- A pool smaller than the thread count (the fixed body) is shared whole.
  local share = #lines >= threads
  for n, line in ipairs(lines) do
    if not share or (n - 1) % threads == tid then
      local sig, body = line:match("^(%S+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", "/webhook", {
        ["Content-Type"] = "application/json",
        ["X-Hub-Signature-256"] = sig,
      }, body)
    end
  end
end

function request()
  at = at % #requests + 1
  return requests[at]
end

function done(summary, latency, _)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write("\n| bodies | connections | seconds | requests | req/s | mean µs | p50 µs | p90 µs | p99 µs | max µs"
    .. " | non-2xx | socket errors |\n")
  io.write("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
  io.write(string.format("| %s | %s | %.1f | %d | %.0f | %.0f | %d | %d | %d | %d | %d | %d |\n",
    os.getenv("LOAD_BODIES") or "?", os.getenv("LOAD_CONNECTIONS") or "?",
    seconds, summary.requests, summary.requests / seconds,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
