#!/usr/bin/env bash
# Walks a running gateway's route table through the migration and back:
#   0-monolith, 1-users, 2-friends, 3-messages, 4-timeline, 3-messages, 2-friends, 1-users, 0-monolith
# (load/phases/), swap i due SWAP_EVERY × i seconds after the start (a swap whose
# predecessor was confirmed late starts as soon as it was).
#
# Each swap replaces ROUTES_FILE, the file the gateway serves, atomically: the phase is
# copied to a temporary file in the same directory, which is then renamed over it, so the
# gateway's watcher never reads a half-written table. The swap counts only when
# `GET /admin/routes` reports the phase's version (the first 12 hex digits of its SHA-256)
# within SWAP_TIMEOUT seconds. With --reload, `POST /admin/reload` is called after each
# rename as well and must answer that version; without it the file watcher alone must see
# the change. At the end, no load may have been rejected during the walk.
#
# Usage: load/swap-phases.sh [--reload] ROUTES_FILE
# Environment: SWAP_EVERY (seconds, default 8), SWAP_TIMEOUT (seconds to see each swap,
# default 10), ADMIN_URL (default http://127.0.0.1:8090). Needs curl and jq.
# Exits 0 when every swap was seen, non-zero naming the first that was not.
set -euo pipefail

RELOAD=false
if [ "${1:-}" = --reload ]; then
  RELOAD=true
  shift
fi
if [ $# -ne 1 ]; then
  echo "usage: $0 [--reload] ROUTES_FILE" >&2
  exit 2
fi
ROUTES=$1
EVERY=${SWAP_EVERY:-8}
TIMEOUT=${SWAP_TIMEOUT:-10}
ADMIN=${ADMIN_URL:-http://127.0.0.1:8090}
ADMIN=${ADMIN%/}
PHASES_DIR=$(cd "$(dirname "$0")/phases" && pwd)
PHASES=(0-monolith 1-users 2-friends 3-messages 4-timeline 3-messages 2-friends 1-users 0-monolith)

[ -f "$ROUTES" ] || { echo "swap-phases: $ROUTES is not a file" >&2; exit 2; }
ROUTES_DIR=$(cd "$(dirname "$ROUTES")" && pwd)
TMP=""
cleanup() { [ -z "$TMP" ] || rm -f "$TMP"; }
trap cleanup EXIT

log() { printf 'swap-phases: %s\n' "$*" >&2; }

admin_routes() { curl -fsS --max-time 5 "$ADMIN/admin/routes"; }

version_of() { sha256sum "$1" | cut -c1-12; }

now_ms() { date +%s%3N; }

# The rejection on record before the walk; any other afterwards means a load was refused.
REJECTED_BEFORE=$(admin_routes | jq -c .last_rejected)

begin=$(now_ms)
every_ms=$(awk -v s="$EVERY" 'BEGIN { printf "%d", s * 1000 }')
swaps=0
for phase in "${PHASES[@]}"; do
  swaps=$((swaps + 1))
  wait_ms=$(( begin + swaps * every_ms - $(now_ms) ))
  [ "$wait_ms" -le 0 ] || sleep "$(awk -v ms="$wait_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
  file="$PHASES_DIR/$phase.yaml"
  want=$(version_of "$file")
  start=$(now_ms)

  TMP=$(mktemp "$ROUTES_DIR/.routes-swap.XXXXXX")
  cp "$file" "$TMP"
  mv -f "$TMP" "$ROUTES"
  TMP=""

  if $RELOAD; then
    answer=$(curl -fsS --max-time 5 -X POST "$ADMIN/admin/reload")
    got=$(jq -r .version <<<"$answer")
    if [ "$got" != "$want" ]; then
      log "$phase: POST /admin/reload answered version $got, expected $want"
      exit 1
    fi
  fi

  seen=""
  while [ $(( $(now_ms) - start )) -lt $(( TIMEOUT * 1000 )) ]; do
    seen=$(admin_routes | jq -r .version)
    [ "$seen" = "$want" ] && break
    sleep 0.05
  done
  if [ "$seen" != "$want" ]; then
    log "$phase: GET /admin/routes still reports version $seen after ${TIMEOUT}s, expected $want"
    exit 1
  fi
  log "$phase: version $want active after $(( $(now_ms) - start )) ms (at $(( $(now_ms) - begin )) ms)"
done

REJECTED_AFTER=$(admin_routes | jq -c .last_rejected)
if [ "$REJECTED_AFTER" != "$REJECTED_BEFORE" ]; then
  log "a load was rejected during the walk: $REJECTED_AFTER"
  exit 1
fi
log "every phase swapped in and back (${#PHASES[@]} swaps)"
