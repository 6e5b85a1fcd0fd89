// Writes at a steady rate, read back through the timeline. Each iteration is one story:
// create a user and FRIENDS new friends, befriend them (from either side: friendship is
// symmetric), let each friend post MESSAGES messages, then read the new user's timeline
// through the gateway and check it shows exactly those friends, each with their messages,
// newest first, the friend who posted last first.
//
// The timeline service caches profiles (docs/timeline.md: moka, TTL 30 s by default, and
// deleted users cached as missing). Every id a story reads was created by that story and
// never read before, so no cached entry can be stale: the owner and friends are fresh users,
// and nothing of theirs was looked up before their timeline is read. Each write has returned
// its success status, committed, before the timeline is read, so the read must see it: the
// timeline's live view follows the services' feeds a moment behind, so the read carries
// every write's `X-Change-Position` (the latest per feed) and the timeline service waits
// until its view has applied them, or composes (docs/timeline.md, read-your-writes).
//
// Asserts: not one failed request, every check true (status and body of each write, and
// the timeline read back), and at least one story verified.
//
// Each write and the read back act as the user they concern, with that user's token: the
// befriending user, the author of each message, the owner of the timeline (sign-up needs
// none). New users get ids past the demo world's, so TOKENS_FILE must cover them too
// (load/run.sh makes tokens for users 1..20000).
//
// Environment: GATEWAY_URL, TOKENS_FILE, RATE (stories per second, default 5), FRIENDS (per story,
// default 3), MESSAGES (per friend, 1..=10, default 2), DURATION (default 60s; 5s short),
// LOAD_SHORT.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { asUser, duration, GATEWAY, intFromEnv, isMessage, isTimeline, isUser, json, jsonParams } from './lib.js';

const RATE = intFromEnv('RATE', 5);
const FRIENDS = intFromEnv('FRIENDS', 3);
const MESSAGES = intFromEnv('MESSAGES', 2);
if (FRIENDS < 1 || FRIENDS > 50) throw new Error(`FRIENDS must be 1..=50, got ${FRIENDS}`);
// The timeline shows at most 10 messages per friend (`per_friend`).
if (MESSAGES < 1 || MESSAGES > 10) throw new Error(`MESSAGES must be 1..=10, got ${MESSAGES}`);

const storiesVerified = new Counter('stories_verified');

export const options = {
  scenarios: {
    stories: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: __ENV.DURATION || duration('60s', '5s'),
      preAllocatedVUs: 10,
      maxVUs: 100,
    },
  },
  thresholds: {
    http_req_failed: ['rate==0'],
    checks: ['rate==1'],
    // A run that verified nothing would pass every rate threshold; this one it cannot.
    stories_verified: ['count>0'],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

export default function () {
  const tag = `${__VU}-${__ITER}-${Math.floor(Math.random() * 1e9)}`;

  const positions = new Map(); // feed → the latest position a write of this story answered
  const remember = (res) => {
    const header = res.headers['X-Change-Position'];
    if (!header) return;
    for (const position of header.split(',')) {
      const [source, seq] = position.trim().split(':');
      if (!(positions.get(source) >= Number(seq))) positions.set(source, Number(seq));
    }
  };
  const owner = createUser(`owner ${tag}`, remember);
  if (owner === null) return;
  const friends = [];
  for (let i = 0; i < FRIENDS; i++) {
    const friend = createUser(`friend ${i} of ${tag}`, remember);
    if (friend === null) return;
    friends.push(friend);
  }

  for (const [i, friend] of friends.entries()) {
    // Alternate sides: PUT /users/{a}/friends/{b} befriends both ways.
    const [a, b] = i % 2 === 0 ? [owner.id, friend.id] : [friend.id, owner.id];
    const res = http.put(`${GATEWAY}/users/${a}/friends/${b}`, null, asUser(a, 'PUT /users/{id}/friends/{friend_id}'));
    if (!check(res, { 'PUT /users/{id}/friends/{friend_id}: 204': (r) => r.status === 204 })) return;
    remember(res);
  }

  // Posted friend by friend, so the last friend holds the newest message.
  const posted = new Map(); // friend id → its message ids, newest first
  for (const friend of friends) {
    const ids = [];
    for (let m = 0; m < MESSAGES; m++) {
      const text = `message ${m} of ${friend.name}`;
      const res = http.post(`${GATEWAY}/messages`, JSON.stringify({ author_id: friend.id, text }), asUser(friend.id, 'POST /messages', true));
      const body = json(res);
      const ok = check(res, {
        'POST /messages: 201': (r) => r.status === 201,
        'POST /messages: the message created': () => isMessage(body) && body.author_id === friend.id && body.text === text,
      });
      if (!ok) return;
      remember(res);
      ids.unshift(body.id);
    }
    posted.set(friend.id, ids);
  }

  const read = asUser(owner.id, 'GET /timeline/{id}');
  if (positions.size > 0) {
    read.headers['x-change-position'] = [...positions].map(([source, seq]) => `${source}:${seq}`).join(', ');
  }
  const res = http.get(`${GATEWAY}/timeline/${owner.id}?per_friend=${MESSAGES}`, read);
  const timeline = json(res);
  const expectedOrder = friends.map((f) => f.id).reverse();
  const ok = check(res, {
    'timeline read back: 200': (r) => r.status === 200,
    'timeline read back: timeline shape': () => isTimeline(timeline, owner.id),
    'timeline read back: complete, nobody missing': () => timeline !== null &&
      timeline.degraded.length === 0 && timeline.missing_friends.length === 0,
    'timeline read back: every new friend, the latest poster first': () => timeline !== null &&
      sameList(timeline.entries.map((e) => e.friend.id), expectedOrder),
    'timeline read back: their names': () => timeline !== null &&
      timeline.entries.every((e) => e.friend.name === friends.find((f) => f.id === e.friend.id)?.name),
    'timeline read back: their messages, newest first': () => timeline !== null &&
      timeline.entries.every((e) => sameList(e.messages.map((m) => m.id), posted.get(e.friend.id) || [])),
  });
  if (ok) storiesVerified.add(1);
}

function createUser(name, remember) {
  const res = http.post(`${GATEWAY}/users`, JSON.stringify({ name }), jsonParams('POST /users'));
  const body = json(res);
  const ok = check(res, {
    'POST /users: 201': (r) => r.status === 201,
    'POST /users: the user created': () => isUser(body) && body.name === name,
  });
  if (ok) remember(res);
  return ok ? body : null;
}

function sameList(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
