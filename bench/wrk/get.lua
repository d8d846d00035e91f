-- Plain GET of the URL given to wrk (headers via wrk -H).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
