// Random users' timelines through the gateway, under a ramping number of virtual users, each
// pausing THINK_MS between requests as a person scrolling would: the read the whole system
// exists for, at a load the machine can carry, so the latency measured is the system's
// rather than the queue of a saturated machine (THINK_MS=0 saturates it instead).
//
// Asserts: no failed request; every answer a 200 carrying the timeline shape for the user
// asked (docs/timeline.md), complete (`degraded` empty); p(95) and p(99) latency bounds.
//
//   load/run.sh load/timeline.js              # starts the stack, runs this, stops it
//   k6 run load/timeline.js                   # against a gateway already running
//
// Environment: GATEWAY_URL, TOKENS_FILE (and TOKENS_FIRST_USER; load/run.sh sets both), USER_ID_MIN/USER_ID_MAX (default 1..1000, the demo world),
// VUS (the plateau, default 20), THINK_MS (pause between a VU's requests, default 100),
// P95_MS/P99_MS (bounds, default 250/500), LOAD_SHORT.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { asUser, duration, GATEWAY, intFromEnv, isTimeline, json, randomUserId } from './lib.js';

const VUS = intFromEnv('VUS', 20);
const THINK_MS = intFromEnv('THINK_MS', 100);
// The bounds hold on a shared 2-core machine where k6, the gateway, the timeline service
// and the three services it reads all compete for the cores, so they sit well above what
// an idle machine shows; they are there to catch a path that got several times slower.
const P95_MS = intFromEnv('P95_MS', 250);
const P99_MS = intFromEnv('P99_MS', 500);

export const options = {
  scenarios: {
    timelines: {
      executor: 'ramping-vus',
      startVUs: 1,
      stages: [
        { duration: duration('20s', '2s'), target: Math.max(1, Math.floor(VUS / 4)) },
        { duration: duration('20s', '2s'), target: VUS },
        { duration: duration('60s', '3s'), target: VUS },
        { duration: duration('10s', '1s'), target: 0 },
      ],
      gracefulRampDown: '5s',
    },
  },
  thresholds: {
    http_req_failed: ['rate==0'],
    checks: ['rate==1'],
    // A run that sent nothing passes every rate threshold; this one it cannot.
    http_reqs: ['count>0'],
    'http_req_duration{name:GET /timeline/{id}}': [`p(95)<${P95_MS}`, `p(99)<${P99_MS}`],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

export default function () {
  const id = randomUserId();
  // A timeline is its owner's only: each request carries that user's token.
  const res = http.get(`${GATEWAY}/timeline/${id}`, asUser(id, 'GET /timeline/{id}'));
  const body = json(res);
  check(res, {
    'timeline: 200': (r) => r.status === 200,
    'timeline: has the timeline shape': () => isTimeline(body, id),
    'timeline: complete (nothing degraded)': () => body !== null && Array.isArray(body.degraded) && body.degraded.length === 0,
  });
  if (THINK_MS > 0) sleep(THINK_MS / 1000);
}
