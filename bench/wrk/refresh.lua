-- refresh_token grant with rotation: a per-thread queue of live refresh tokens
-- ($BENCH_POOL); request() pops one, response() pushes the one the provider returned.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local queue, head, tail, body, stopping = {}, 1, 0, nil, false

function init(args)
  for _, token in ipairs(load_pool(os.getenv("BENCH_POOL"))) do
    tail = tail + 1
    queue[tail] = token
  end
  body = os.getenv("BENCH_BODY")
end

function request()
  if head > tail then
    -- Every token is in flight (more connections than tokens) or lost to an error.
    if not stopping then
      stopping = true
      wrk.thread:set("exhausted", 1)
      wrk.thread:stop()
    end
    return wrk.format("GET", "/healthz")
  end
  local token = queue[head]
  queue[head] = nil
  head = head + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"},
    body .. "&refresh_token=" .. token)
end

function response(status, headers, response_body)
  if status == 200 then
    local token = string.match(response_body, '"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      tail = tail + 1
      queue[tail] = token
    end
  end
end
