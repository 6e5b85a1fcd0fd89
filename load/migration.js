// The migration, live: mixed reads and writes through the gateway at a steady rate while
// `load/swap-phases.sh` swaps the route table through every phase of the migration and
// back (load/phases/0-monolith.yaml … 4-timeline.yaml … 0-monolith.yaml). `load/run.sh
// load/migration.js` runs the two together.
//
// Asserts: not one failed request and every check true across all the swaps; and, from the
// `x-upstream` header, that each resource was answered both by the monolith and by its new
// service during the run, so the swaps really happened under this traffic.
//
// During the migration the monolith and the services hold separate databases (each filled
// with the same demo world at start), and a write lands in whichever database owns its route
// at that instant. A user created in phase 0 lives in the monolith only, so reading it back
// after the swap to phase 1 would find nothing. The checks therefore assert what is true in
// every phase: writes are answered with their success status and echo what was sent, reads
// of the demo world answer 200 with the right shape, and writes only name demo users, which
// exist on both sides (the monolith refuses a friendship or message naming an unknown user).
//
// The timeline, befriending and posting act as the user they concern, with that user's
// token (TOKENS_FILE); reads and sign-up need none.
//
// Environment: GATEWAY_URL, TOKENS_FILE, USER_ID_MIN/USER_ID_MAX (demo users, default 1..1000),
// RATE (requests per second, default 100), DURATION (default 90s; 18s short: load/run.sh
// swaps every 8 s, or 1.5 s with --short, so the walk of 9 swaps ends before the load), LOAD_SHORT.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import {
  asUser, duration, GATEWAY, intFromEnv, isFriendsPage, isMessage, isTimeline, isUser, isUsersPage,
  json, jsonParams, randInt, randomPair, randomUserId,
} from './lib.js';

const RATE = intFromEnv('RATE', 100);

// Which upstream answered, per resource, from the gateway's `x-upstream` header.
const answeredBy = new Counter('answered_by');

// resource → the service it moves to; before that, the monolith answers it.
const RESOURCES = { users: 'users', friends: 'friends', messages: 'messages', timeline: 'timeline' };

const thresholds = {
  http_req_failed: ['rate==0'],
  checks: ['rate==1'],
  // A run that sent nothing passes every rate threshold; this one it cannot.
  http_reqs: ['count>0'],
  // A swap must not stall requests: generous, for a loaded 2-core machine.
  http_req_duration: ['p(99)<1000'],
};
for (const [resource, service] of Object.entries(RESOURCES)) {
  thresholds[`answered_by{resource:${resource},upstream:monolith}`] = ['count>0'];
  thresholds[`answered_by{resource:${resource},upstream:${service}}`] = ['count>0'];
}

export const options = {
  scenarios: {
    mixed: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: __ENV.DURATION || duration('90s', '18s'),
      // Enough VUs for a stall of a few hundred ms without dropping the rate.
      preAllocatedVUs: 50,
      maxVUs: 200,
    },
  },
  thresholds,
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

// Each operation with its share of the traffic (weights add up to 100).
const OPERATIONS = [
  [25, getTimeline],
  [15, getUser],
  [10, getUsersBulk],
  [15, getFriends],
  [5, getMessagesPage],
  [10, createUser],
  [10, befriend],
  [10, createMessage],
];
const TOTAL_WEIGHT = OPERATIONS.reduce((sum, [w]) => sum + w, 0);

export default function () {
  let pick = randInt(1, TOTAL_WEIGHT);
  for (const [weight, operation] of OPERATIONS) {
    pick -= weight;
    if (pick <= 0) {
      operation();
      return;
    }
  }
}

function record(res, resource) {
  answeredBy.add(1, { resource, upstream: res.headers['X-Upstream'] || 'none' });
}

function getTimeline() {
  const id = randomUserId();
  const res = http.get(`${GATEWAY}/timeline/${id}`, asUser(id, 'GET /timeline/{id}'));
  record(res, 'timeline');
  const body = json(res);
  check(res, {
    'GET /timeline/{id}: 200': (r) => r.status === 200,
    'GET /timeline/{id}: timeline shape': () => isTimeline(body, id),
  });
}

function getUser() {
  const id = randomUserId();
  const res = http.get(`${GATEWAY}/users/${id}`, { tags: { name: 'GET /users/{id}' } });
  record(res, 'users');
  const body = json(res);
  check(res, {
    'GET /users/{id}: 200': (r) => r.status === 200,
    'GET /users/{id}: that user': () => isUser(body) && body.id === id,
  });
}

function getUsersBulk() {
  const ids = [randomUserId(), randomUserId(), randomUserId()];
  const res = http.get(`${GATEWAY}/users?ids=${ids.join(',')}`, { tags: { name: 'GET /users?ids' } });
  record(res, 'users');
  const body = json(res);
  check(res, {
    'GET /users?ids: 200': (r) => r.status === 200,
    // Demo users exist on both sides, so every one is found and none is missing.
    'GET /users?ids: every demo user found': () => isUsersPage(body) && body.missing.length === 0 &&
      body.users.length === new Set(ids).size,
  });
}

function getFriends() {
  const id = randomUserId();
  const res = http.get(`${GATEWAY}/users/${id}/friends`, { tags: { name: 'GET /users/{id}/friends' } });
  record(res, 'friends');
  const body = json(res);
  check(res, {
    'GET /users/{id}/friends: 200': (r) => r.status === 200,
    'GET /users/{id}/friends: friends page': () => isFriendsPage(body, id),
  });
}

function getMessagesPage() {
  const id = randomUserId();
  const res = http.get(`${GATEWAY}/users/${id}/messages?limit=5`, { tags: { name: 'GET /users/{id}/messages' } });
  record(res, 'messages');
  const body = json(res);
  check(res, {
    'GET /users/{id}/messages: 200': (r) => r.status === 200,
    'GET /users/{id}/messages: messages page': () => body !== null && body.author_id === id &&
      Array.isArray(body.messages) && body.messages.length <= 5 && body.messages.every(isMessage),
  });
}

function createUser() {
  const name = `load user ${randInt(1, 1e9)}`;
  const res = http.post(`${GATEWAY}/users`, JSON.stringify({ name }), jsonParams('POST /users'));
  record(res, 'users');
  const body = json(res);
  check(res, {
    'POST /users: 201': (r) => r.status === 201,
    'POST /users: the user created': () => isUser(body) && body.name === name,
  });
}

function befriend() {
  const [a, b] = randomPair();
  const res = http.put(`${GATEWAY}/users/${a}/friends/${b}`, null, asUser(a, 'PUT /users/{id}/friends/{friend_id}'));
  record(res, 'friends');
  check(res, { 'PUT /users/{id}/friends/{friend_id}: 204': (r) => r.status === 204 });
}

function createMessage() {
  const author = randomUserId();
  const text = `load message ${randInt(1, 1e9)}`;
  const res = http.post(`${GATEWAY}/messages`, JSON.stringify({ author_id: author, text }), asUser(author, 'POST /messages', true));
  record(res, 'messages');
  const body = json(res);
  check(res, {
    'POST /messages: 201': (r) => r.status === 201,
    'POST /messages: the message created': () => isMessage(body) && body.author_id === author && body.text === text,
  });
}
