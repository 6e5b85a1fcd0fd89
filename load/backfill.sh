#!/usr/bin/env bash
# Backfill: how long a service started empty takes to copy the monolith's data over its
# change feed (a replay of the compacted feed from 0) and be current with it.
#
# Starts the monolith (release build) filled with the demo world, waits until it is ready,
# then starts the users, friends and messages services with empty SQLite files and
# `--replicate-from monolith=URL`, all at once, and polls each one's `GET /feeds` until its
# follower of the monolith is connected with nothing left to apply. Prints the seconds each
# took, the rows it then holds, and its database's size.
#
# Usage: load/backfill.sh [DEMO]   (default users=50000,friends=10,messages=20,seed=1: the
#                                  1,000,000-message world of load/bench.sh)
# Ports 18181-18185 on 127.0.0.1. Needs curl and jq.
set -euo pipefail

DEMO=${1:-users=50000,friends=10,messages=20,seed=1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release --locked --quiet -p monolith -p users -p friends -p messages --bins
BIN=$ROOT/target/release
DIR=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

MONO=http://127.0.0.1:18185
echo "backfill: filling the monolith with $DEMO" >&2
started=$(now)
"$BIN/monolith" --listen 127.0.0.1:18185 --database "sqlite://$DIR/monolith.db" --demo "$DEMO" \
  >"$DIR/monolith.log" 2>&1 &
PIDS+=($!)
until curl -fsS "$MONO/readyz" >/dev/null 2>&1; do sleep 0.2; done
echo "backfill: monolith ready in $(since "$started") s, feed head $(curl -fsS "$MONO/feeds" | jq .head)" >&2

declare -A PORT=([users]=18181 [friends]=18182 [messages]=18183)
started=$(now)
for service in users friends messages; do
  extra=()
  # The friends and messages services learn which users exist from the users service.
  [ "$service" = users ] || extra=(--users-url "http://127.0.0.1:${PORT[users]}")
  "$BIN/$service" --listen "127.0.0.1:${PORT[$service]}" --database "sqlite://$DIR/$service.db" \
    --replicate-from "monolith=$MONO" --id-slot 2/2 "${extra[@]}" >"$DIR/$service.log" 2>&1 &
  PIDS+=($!)
done

printf '%-9s %12s %12s %10s\n' service seconds feed_head db_mib
declare -A DONE=()
while [ ${#DONE[@]} -lt 3 ]; do
  for service in users friends messages; do
    [ -z "${DONE[$service]:-}" ] || continue
    follower=$(curl -fsS "http://127.0.0.1:${PORT[$service]}/feeds" 2>/dev/null |
      jq -c --arg c "$service-from-monolith" '.followers[] | select(.consumer == $c)' 2>/dev/null || true)
    [ -n "$follower" ] || continue
    if [ "$(jq -r '.connected and .lag_events == 0 and .position > 0' <<<"$follower")" = true ]; then
      DONE[$service]=1
      head=$(curl -fsS "http://127.0.0.1:${PORT[$service]}/feeds" | jq .head)
      mib=$(du -m "$DIR/$service.db" | cut -f1)
      printf '%-9s %12s %12s %10s\n' "$service" "$(since "$started")" "$head" "$mib"
    fi
  done
  sleep 0.2
done
