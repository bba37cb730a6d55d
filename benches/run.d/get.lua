-- wrk script for benches/run: GETs the URL wrk is given (the page-reads floor, /healthz) and, when
-- done, prints the same machine-readable line as graphql.lua.
wrk.method = "GET"

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "fandb-bench requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50.0), latency:percentile(99.0),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
