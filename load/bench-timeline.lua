-- wrk script of load/bench.sh: GET /timeline/{id} for a user drawn at random from a set,
-- so a round spreads over many timelines. Over a warm cache every friend's profile is then
-- a hit; with the cache off every request misses, and few requests for the same user are
-- in flight at once, so coalesced loads do not stand in for the cache.
--
-- Environment:
--   BENCH_USERS  the user ids, separated by commas (required)
--   BENCH_QUERY  appended to the path, e.g. "?per_friend=1&limit=50" (default: none)
--
-- Each wrk thread draws from its own generator, seeded by the thread's number, so every
-- target of a comparison is sent the same sequence of users.

local ids = {}
for id in string.gmatch(os.getenv("BENCH_USERS") or "", "%d+") do
  ids[#ids + 1] = id
end
local query = os.getenv("BENCH_QUERY") or ""
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  if #ids == 0 then
    error("BENCH_USERS names no user ids")
  end
  math.randomseed(thread_number or 1)
end

function request()
  return wrk.format(nil, "/timeline/" .. ids[math.random(#ids)] .. query)
end
