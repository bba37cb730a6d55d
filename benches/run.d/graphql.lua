-- wrk script for benches/run: POSTs one fixed GraphQL body to /graphql and, when done, prints one
-- machine-readable line with the request count and latency percentiles in microseconds.
-- The body is read from the file named by FANDB_BENCH_BODY.
local path = os.getenv("FANDB_BENCH_BODY")
local file = assert(io.open(path, "rb"), "FANDB_BENCH_BODY: cannot open " .. tostring(path))
wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.body = file:read("*a")
file:close()

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "fandb-bench requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50.0), latency:percentile(99.0),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
