// The migration, live: mixed reads and writes through the gateway at a steady rate while
// `load/swap-phases.sh` swaps the route table through every phase of the migration and
// back (load/phases/0-monolith.yaml … 4-timeline.yaml … 0-monolith.yaml). `load/run.sh
// load/migration.js` runs the two together.
//
// Asserts: not one failed request and every check true across all the swaps; not one lost
// write; and, from the `x-upstream` header, that each resource was answered both by the
// monolith and by its new service during the run, so the swaps really happened under this
// traffic.
//
// The monolith and the services hold separate databases and replicate to each other over
// their change feeds (`gateway up` runs them so), and the gateway hands a resource over at a
// swap only once the new side has applied the old side's writes. So every write is read back:
// a user at once after it is created and again later, whichever side serves it by then (the
// read must show the name it was given: an id two sides handed out twice would show another
// user); a friendship and a message likewise. `lost_writes` counts the read-backs that did
// not find what was acknowledged; its threshold is 0. After the run, load/run.sh calls
// `gateway sync verify`: both sides must hold the same data.
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
// Acknowledged writes that a later read did not find as written.
const lostWrites = new Counter('lost_writes');

// This VU's acknowledged writes, read back later (each VU keeps its own).
const written = { users: [], friendships: [], messages: [] };
// How many of each kind a VU keeps to read back.
const KEEP = 200;

// resource → the service it moves to; before that, the monolith answers it.
const RESOURCES = { users: 'users', friends: 'friends', messages: 'messages', timeline: 'timeline' };

const thresholds = {
  http_req_failed: ['rate==0'],
  checks: ['rate==1'],
  // A run that sent nothing passes every rate threshold; this one it cannot.
  http_reqs: ['count>0'],
  lost_writes: ['count==0'],
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
  [15, getTimeline],
  [15, getUser],
  [10, getUsersBulk],
  [15, getFriends],
  [5, getMessagesPage],
  [10, createUser],
  [10, befriend],
  [10, createMessage],
  [10, readBack],
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

function remember(list, item) {
  list.push(item);
  if (list.length > KEEP) list.splice(randInt(0, list.length - 1), 1);
}

function pickOne(list) {
  return list.length === 0 ? null : list[randInt(0, list.length - 1)];
}

// Reads back what this VU wrote: `found` says whether the acknowledged write is there.
function readUser(user, name) {
  const res = http.get(`${GATEWAY}/users/${user.id}`, { tags: { name } });
  record(res, 'users');
  const body = json(res);
  const found = res.status === 200 && isUser(body) && body.name === user.name;
  if (!found) lostWrites.add(1, { kind: 'user' });
  check(res, { [`${name}: the user as written`]: () => found });
}

function readFriendship([a, b]) {
  // The first friend of `a` above b - 1 is b itself, however many friends `a` has.
  const res = http.get(`${GATEWAY}/users/${a}/friends?after=${b - 1}&limit=1`,
    { tags: { name: 'read back GET /users/{id}/friends' } });
  record(res, 'friends');
  const body = json(res);
  const found = res.status === 200 && isFriendsPage(body, a) && body.friend_ids[0] === b;
  if (!found) lostWrites.add(1, { kind: 'friendship' });
  check(res, { 'read back GET /users/{id}/friends: the friendship': () => found });
}

function readMessage(message, name) {
  const res = http.get(`${GATEWAY}/messages/${message.id}`, { tags: { name } });
  record(res, 'messages');
  const body = json(res);
  const found = res.status === 200 && isMessage(body) && body.text === message.text;
  if (!found) lostWrites.add(1, { kind: 'message' });
  check(res, { [`${name}: the message as written`]: () => found });
}

function readBack() {
  const kinds = [
    [written.users, (u) => readUser(u, 'read back GET /users/{id}')],
    [written.friendships, readFriendship],
    [written.messages, (m) => readMessage(m, 'read back GET /messages/{id}')],
  ].filter(([list]) => list.length > 0);
  if (kinds.length === 0) {
    getUser();
    return;
  }
  const [list, read] = kinds[randInt(0, kinds.length - 1)];
  read(pickOne(list));
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
  if (res.status === 201 && isUser(body)) {
    const user = { id: body.id, name };
    remember(written.users, user);
    readUser(user, 'GET /users/{id} after POST');
  }
}

function befriend() {
  const [a, b] = randomPair();
  const res = http.put(`${GATEWAY}/users/${a}/friends/${b}`, null, asUser(a, 'PUT /users/{id}/friends/{friend_id}'));
  record(res, 'friends');
  check(res, { 'PUT /users/{id}/friends/{friend_id}: 204': (r) => r.status === 204 });
  if (res.status === 204) remember(written.friendships, [a, b]);
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
  if (res.status === 201 && isMessage(body)) {
    const message = { id: body.id, text };
    remember(written.messages, message);
    readMessage(message, 'GET /messages/{id} after POST');
  }
}
