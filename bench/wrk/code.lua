-- authorization_code grant: each request spends one pre-minted code ($BENCH_POOL);
-- $BENCH_BODY holds the rest of the form. A thread whose codes run out stops.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local pool, next_index, stopping = nil, 1, false

function init(args)
  pool = load_pool(os.getenv("BENCH_POOL"))
end

function request()
  local code = pool[next_index]
  if code == nil then
    if not stopping then
      stopping = true
      wrk.thread:set("exhausted", 1)
      wrk.thread:stop()
    end
    return wrk.format("GET", "/healthz")
  end
  next_index = next_index + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"},
    os.getenv("BENCH_BODY") .. "&code=" .. code)
end
