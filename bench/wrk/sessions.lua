-- GET with a different BFF session cookie on each request, round-robin over this
-- thread's share of $BENCH_POOL (one session id a line); cookie name $BENCH_COOKIE_NAME.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local pool, i, name = nil, 0, nil

function init(args)
  pool = load_pool(os.getenv("BENCH_POOL"))
  name = os.getenv("BENCH_COOKIE_NAME") or "latchkey-bff"
end

function request()
  i = i % #pool + 1
  return wrk.format("GET", nil, {["Cookie"] = name .. "=" .. pool[i]})
end
