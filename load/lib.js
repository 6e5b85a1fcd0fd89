// What the load scripts share: settings from the environment, the short mode CI uses, the
// callers' tokens, and the checks of response bodies. k6 passes the process environment as
// __ENV.
import { SharedArray } from 'k6/data';

// Base URL of the gateway under test.
export const GATEWAY = (__ENV.GATEWAY_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');

// `LOAD_SHORT=1` (what `load/run.sh --short` sets) shrinks every stage to a few seconds:
// enough to exercise every request and check, too little for figures worth reading.
export const SHORT = ['1', 'true', 'yes'].includes((__ENV.LOAD_SHORT || '').toLowerCase());

// Users of the demo world, ids USER_ID_MIN..=USER_ID_MAX (the default world has 1..1000).
export const USER_ID_MIN = intFromEnv('USER_ID_MIN', 1);
export const USER_ID_MAX = intFromEnv('USER_ID_MAX', 1000);
if (USER_ID_MIN < 1 || USER_ID_MAX < USER_ID_MIN) {
  throw new Error(`USER_ID_MIN..USER_ID_MAX must be a non-empty range of ids from 1: got ${USER_ID_MIN}..${USER_ID_MAX}`);
}

// Bearer tokens of users TOKENS_FIRST_USER, TOKENS_FIRST_USER + 1, …, one a line in
// TOKENS_FILE, as `gateway token --user FIRST-LAST` prints them (load/run.sh makes the file
// and sets both). Shared by every VU, read once.
const TOKENS_FIRST_USER = intFromEnv('TOKENS_FIRST_USER', 1);
const TOKENS = __ENV.TOKENS_FILE
  ? new SharedArray('tokens', () => open(__ENV.TOKENS_FILE).split('\n').filter((l) => l.length > 0))
  : null;

/** The bearer token of user `id`; an error names what is missing. */
export function tokenOf(id) {
  if (TOKENS === null) {
    throw new Error('TOKENS_FILE is not set: make one with `gateway token --user 1-20000 > tokens.txt` (load/run.sh does)');
  }
  const token = TOKENS[id - TOKENS_FIRST_USER];
  if (token === undefined) {
    throw new Error(`no token for user ${id}: TOKENS_FILE holds users ${TOKENS_FIRST_USER}..${TOKENS_FIRST_USER + TOKENS.length - 1}`);
  }
  return token;
}

/** Request parameters acting as user `id`, tagged `name`; with a JSON body when `json`. */
export function asUser(id, name, json = false) {
  const headers = { authorization: `Bearer ${tokenOf(id)}` };
  if (json) headers['content-type'] = 'application/json';
  return { headers, tags: { name } };
}

/** An integer environment variable, or `fallback` when unset; anything else is an error. */
export function intFromEnv(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new Error(`${name} must be an integer, got \`${raw}\``);
  return parseInt(raw, 10);
}

/** `full` normally, `short` under LOAD_SHORT; both k6 durations such as `30s`. */
export function duration(full, short) {
  return SHORT ? short : full;
}

/** A uniformly random integer in lo..=hi. */
export function randInt(lo, hi) {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

/** A random user id of the demo world. */
export function randomUserId() {
  return randInt(USER_ID_MIN, USER_ID_MAX);
}

/** Two different random user ids of the demo world (the range must hold at least two). */
export function randomPair() {
  const a = randomUserId();
  let b = randomUserId();
  while (b === a && USER_ID_MAX > USER_ID_MIN) b = randomUserId();
  return [a, b];
}

/** The JSON body of a response, or null when it is not JSON. Never throws. */
export function json(res) {
  try {
    return res.json();
  } catch (_) {
    return null;
  }
}

/** Request parameters with a JSON body and a name tag (so k6 groups ids under one URL). */
export function jsonParams(name) {
  return { headers: { 'content-type': 'application/json' }, tags: { name } };
}

const isInt = (v) => Number.isInteger(v) && v > 0;
const isString = (v) => typeof v === 'string';
const isArrayOf = (v, pred) => Array.isArray(v) && v.every(pred);

/** A user as every users endpoint returns it. */
export function isUser(u) {
  return u !== null && typeof u === 'object' && isInt(u.id) && isString(u.name) &&
    (u.avatar_url === null || u.avatar_url === undefined || isString(u.avatar_url)) &&
    isString(u.created_at);
}

/** A message as the messages endpoints return it. */
export function isMessage(m) {
  return m !== null && typeof m === 'object' && isInt(m.id) && isInt(m.author_id) &&
    isString(m.text) && isString(m.created_at);
}

/**
 * The shape of a timeline (docs/timeline.md), the same from the timeline service and the
 * monolith: the owner's id, entries of a friend's profile and their latest messages, and
 * the lists of missing friends and degraded downstreams.
 */
export function isTimeline(t, userId) {
  return t !== null && typeof t === 'object' && t.user_id === userId &&
    isArrayOf(t.entries, isTimelineEntry) &&
    isArrayOf(t.missing_friends, isInt) &&
    isArrayOf(t.degraded, isString) &&
    isString(t.generated_at);
}

function isTimelineEntry(e) {
  return e !== null && typeof e === 'object' && e.friend !== null && typeof e.friend === 'object' &&
    isInt(e.friend.id) && (e.friend.name === null || isString(e.friend.name)) &&
    isArrayOf(e.messages, (m) => m !== null && isInt(m.id) && isString(m.text) && isString(m.created_at));
}

/** The friends page of `GET /users/{id}/friends`. */
export function isFriendsPage(p, userId) {
  return p !== null && typeof p === 'object' && p.user_id === userId &&
    isArrayOf(p.friend_ids, isInt) && (p.next_after === null || isInt(p.next_after));
}

/** The answer of the bulk read `GET /users?ids=…`. */
export function isUsersPage(p) {
  return p !== null && typeof p === 'object' && isArrayOf(p.users, isUser) && isArrayOf(p.missing, isInt);
}
