-- wrk script of bench/api_load.py: a weighted mix of API requests, status codes checked.
--
--   API_LOAD_REQUESTS=/path/requests.lua API_LOAD_THREADS=2 wrk -t2 -c16 -d30s -s bench/load/mix.lua URL
--
-- The requests file (written by bench/api_load.py) returns
--   { seed = n, kinds = { { name = "deal_list", weight = 35, once = false,
--                           requests = { { method, path, headers, body }, ... } }, ... } }
-- Each request() picks a kind by weight, then one of its requests: at random, or, for a kind
-- marked `once` (deal moves), each request once, the pool split between wrk's threads so that
-- no two connections move the same deal. Any status outside 2xx counts as an error; done()
-- prints one line "API_LOAD_RESULT {json}" that bench/api_load.py parses.

local threads = {}
local thread_count = tonumber(os.getenv("API_LOAD_THREADS") or "1")

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

local kinds, total_weight
-- Globals of each thread's Lua state: done() reads them with thread:get().
sent, failures, samples, exhausted = {}, 0, {}, 0

function init(args)
   local data = dofile(os.getenv("API_LOAD_REQUESTS"))
   math.randomseed(data.seed + id * 7919)
   kinds, total_weight = {}, 0
   for _, kind in ipairs(data.kinds) do
      local formatted = {}
      for index, r in ipairs(kind.requests) do
         -- A `once` pool is split between threads: thread `id` takes every thread_count-th.
         if not kind.once or (index - 1) % thread_count == id then
            table.insert(formatted, wrk.format(r[1], r[2], r[3], r[4]))
         end
      end
      total_weight = total_weight + kind.weight
      table.insert(kinds, {
         name = kind.name, weight = kind.weight, once = kind.once,
         requests = formatted, next = 1,
      })
      sent[kind.name] = 0
   end
end

local function pick_kind()
   local roll = math.random() * total_weight
   for _, kind in ipairs(kinds) do
      roll = roll - kind.weight
      if roll <= 0 then
         return kind
      end
   end
   return kinds[#kinds]
end

function request()
   local kind = pick_kind()
   sent[kind.name] = sent[kind.name] + 1
   if kind.once then
      local index = kind.next
      kind.next = kind.next + 1
      if index > #kind.requests then
         -- Pool used up: reuse (an error the report shows) rather than stall the run.
         exhausted = exhausted + 1
         index = (index - 1) % #kind.requests + 1
      end
      return kind.requests[index]
   end
   return kind.requests[math.random(#kind.requests)]
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      failures = failures + 1
      if #samples < 5 then
         table.insert(samples, status .. " " .. string.sub(body or "", 1, 300))
      end
   end
end

local function json_string(text)
   text = string.gsub(text, '[%c"\\]', function(c)
      if c == '"' then return '\\"' end
      if c == "\\" then return "\\\\" end
      return string.format("\\u%04x", string.byte(c))
   end)
   return '"' .. text .. '"'
end

function done(summary, latency, requests)
   local sent_total, failures_total, exhausted_total, samples_all = {}, 0, 0, {}
   for _, thread in ipairs(threads) do
      for name, n in pairs(thread:get("sent")) do
         sent_total[name] = (sent_total[name] or 0) + n
      end
      failures_total = failures_total + thread:get("failures")
      exhausted_total = exhausted_total + thread:get("exhausted")
      for _, text in ipairs(thread:get("samples")) do
         table.insert(samples_all, text)
      end
   end
   local parts = {}
   for name, n in pairs(sent_total) do
      table.insert(parts, json_string(name) .. ":" .. n)
   end
   local e = summary.errors
   io.write("API_LOAD_RESULT {",
      '"requests":', summary.requests, ",",
      '"duration_us":', summary.duration, ",",
      '"p50_us":', latency:percentile(50), ",",
      '"p90_us":', latency:percentile(90), ",",
      '"p99_us":', latency:percentile(99), ",",
      '"max_us":', latency.max, ",",
      '"status_errors":', failures_total, ",",
      '"socket_errors":', e.connect + e.read + e.write + e.timeout, ",",
      '"pool_exhausted":', exhausted_total, ",",
      '"sent":{', table.concat(parts, ","), "},",
      '"samples":', json_string(table.concat(samples_all, "\n")),
      "}\n")
end
