-- Shared by every bench script: writes one JSON line of results to $BENCH_OUT,
-- and splits a pool file (one value a line) between wrk's threads.
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

-- This thread's share of the lines of `path` (line i goes to thread i mod n).
function load_pool(path)
  local tid = tonumber(wrk.thread:get("tid"))
  local n = tonumber(os.getenv("BENCH_THREADS") or "1")
  local pool, i = {}, 0
  for line in io.lines(path) do
    if line ~= "" then
      if i % n == tid then table.insert(pool, line) end
      i = i + 1
    end
  end
  return pool
end

function done(summary, latency, requests)
  local e = summary.errors
  local exhausted = 0
  for _, t in ipairs(threads) do
    exhausted = exhausted + (tonumber(t:get("exhausted")) or 0)
  end
  local out = io.open(os.getenv("BENCH_OUT"), "w")
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
    '"errors":%d,"status_errors":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"exhausted":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect + e.read + e.write + e.timeout + e.status, e.status, e.connect, e.read, e.write, e.timeout,
    exhausted))
  out:close()
end
