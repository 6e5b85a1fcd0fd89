// GET one URL at a fixed rate, open loop (k6's constant-arrival-rate: a request starts
// every 1/RATE s whatever the answers do), so that latencies compare at the same offered
// load; load/bench.sh uses it for the gateway with and without a shadow.
//
//   k6 run -q -e URL=http://127.0.0.1:18081/users/1 -e RATE=2000 -e SECONDS=10 \
//     -e OUT=out.json [-e AUTH="Bearer …"] load/fixed-rate.js
//
// Writes OUT: {"p50": ms, "p99": ms, "max": ms, "requests": n, "failed": n, "dropped": n}
// (dropped: requests k6 could not start on time for want of a free VU).
import http from "k6/http";

const RATE = Number(__ENV.RATE || 1000);
const SECONDS = Number(__ENV.SECONDS || 10);

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: ["med", "p(99)", "max", "count"],
  scenarios: {
    fixed: {
      executor: "constant-arrival-rate",
      rate: RATE,
      timeUnit: "1s",
      duration: `${SECONDS}s`,
      preAllocatedVUs: 64,
      maxVUs: 512,
    },
  },
};

const params = __ENV.AUTH ? { headers: { authorization: __ENV.AUTH } } : {};

export default function () {
  http.get(__ENV.URL, params);
}

export function handleSummary(data) {
  const m = data.metrics;
  const duration = m.http_req_duration.values;
  const result = {
    p50: duration.med,
    p99: duration["p(99)"],
    max: duration.max,
    requests: m.http_reqs ? m.http_reqs.values.count : 0,
    failed: m.http_req_failed ? m.http_req_failed.values.passes : 0,
    dropped: m.dropped_iterations ? m.dropped_iterations.values.count : 0,
  };
  return { [__ENV.OUT]: JSON.stringify(result) + "\n" };
}
