#!/usr/bin/env bash
# Measures, in one run, requests/s and p50/p99 latency of the same request sent
#   direct   straight to an upstream (stub-upstream, answers {"upstream":"users"}),
#   gateway  through `gateway serve` with the shipped routes.yaml,
#   nginx    through nginx configured equivalently (skipped when nginx is unavailable),
# in interleaved rounds (direct, gateway, nginx, direct, …), and prints the median of each
# with the ratios to direct. Speed is never asserted: the figures are for reading.
#
# Usage: load/bench-gateway.sh [ROUNDS] [SECONDS_PER_ROUND] [CONNECTIONS]
#   defaults 5 rounds, 5 s each, 32 connections, wrk with 2 threads.
# Environment: BENCH_PORT_BASE (default 18080) picks the loopback ports used.
# Installs wrk (and nginx-light) from Debian packages when missing. Writes raw wrk output
# under load/out/ (ignored by git).
set -euo pipefail

ROUNDS=${1:-5}
SECONDS_PER_ROUND=${2:-5}
CONNECTIONS=${3:-32}
THREADS=2
BASE=${BENCH_PORT_BASE:-18080}
GATEWAY_PORT=$BASE
UPSTREAM_PORT=$((BASE + 1))
NGINX_PORT=$((BASE + 8))
ADMIN_PORT=$((BASE + 10))
REQUEST_PATH=/users/1

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/load/out/bench-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

install_if_missing() { # command package
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "installing $2 …" >&2
    if [ "$(id -u)" = 0 ]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2") >/dev/null 2>&1 || true
    else
      (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2") >/dev/null 2>&1 || true
    fi
  fi
}

install_if_missing wrk wrk
command -v wrk >/dev/null || { echo "wrk is required and could not be installed" >&2; exit 1; }
# nginx-light installs the binary only; its service is never started here (we run our own
# instance in the foreground on loopback and stop it at the end).
if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null; then
  install_if_missing nginx nginx-light
fi
NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)

wait_for() { # url
  for _ in $(seq 1 200); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 0.05
  done
  echo "nothing answers at $1" >&2
  exit 1
}

echo "building release binaries …" >&2
(cd "$ROOT" && cargo build --release --quiet --bin gateway --bin stub-upstream)
BIN="$ROOT/target/release"

"$BIN/stub-upstream" --name users --listen "127.0.0.1:$UPSTREAM_PORT" 2>"$OUT/upstream.log" &
PIDS+=($!)
wait_for "http://127.0.0.1:$UPSTREAM_PORT$REQUEST_PATH"

RUST_LOG=warn "$BIN/gateway" serve --routes "$ROOT/routes.yaml" \
  --listen "127.0.0.1:$GATEWAY_PORT" --admin "127.0.0.1:$ADMIN_PORT" --no-watch \
  --upstream "users=http://127.0.0.1:$UPSTREAM_PORT" >"$OUT/gateway.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$GATEWAY_PORT$REQUEST_PATH"

TARGETS=(direct gateway)
declare -A URL=(
  [direct]="http://127.0.0.1:$UPSTREAM_PORT$REQUEST_PATH"
  [gateway]="http://127.0.0.1:$GATEWAY_PORT$REQUEST_PATH"
)

if [ -n "$NGINX" ]; then
  # Equivalent to the gateway: the same match (one path segment after /users), keep-alive
  # to the upstream, hop-by-hop headers dropped, X-Forwarded-* and a request id set,
  # x-upstream added, no access log, one worker per core (the gateway runs one per core).
  mkdir -p "$OUT/nginx"
  cat >"$OUT/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $OUT/nginx/body;
  proxy_temp_path $OUT/nginx/proxy;
  fastcgi_temp_path $OUT/nginx/fastcgi;
  uwsgi_temp_path $OUT/nginx/uwsgi;
  scgi_temp_path $OUT/nginx/scgi;
  client_max_body_size 1m;
  large_client_header_buffers 4 16k;
  upstream users { server 127.0.0.1:$UPSTREAM_PORT; keepalive 64; }
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
  "$NGINX" -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" 2>"$OUT/nginx/stderr.log" &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$NGINX_PORT$REQUEST_PATH"
  TARGETS+=(nginx)
  URL[nginx]="http://127.0.0.1:$NGINX_PORT$REQUEST_PATH"
  echo "nginx: $("$NGINX" -v 2>&1)" >&2
else
  echo "nginx not available: measuring direct and gateway only" >&2
fi

# Milliseconds from a wrk latency figure (123.45us, 1.23ms, 1.2s).
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "%s", v }'
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# Warm up every target (connections, pools, caches) before measuring.
for t in "${TARGETS[@]}"; do
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "${URL[$t]}" >/dev/null
done

for round in $(seq 1 "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    file="$OUT/$t-$round.txt"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_ROUND}s" --latency "${URL[$t]}" >"$file"
    if grep -q "Non-2xx" "$file"; then
      echo "$t round $round had non-2xx answers; see $file" >&2
      exit 1
    fi
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$file")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$file")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$file")")
    echo "$rps" >>"$OUT/$t.rps"
    echo "$p50" >>"$OUT/$t.p50"
    echo "$p99" >>"$OUT/$t.p99"
    printf 'round %d %-8s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms\n' "$round" "$t" "$rps" "$p50" "$p99" >&2
  done
done

echo
echo "GET $REQUEST_PATH, wrk -t$THREADS -c$CONNECTIONS, $ROUNDS interleaved rounds of ${SECONDS_PER_ROUND}s, medians ($(nproc) cores, $(date -u +%Y-%m-%d)):"
printf '%-8s %12s %10s %10s %14s %12s %12s\n' target "req/s" "p50 ms" "p99 ms" "rps vs direct" "p50 added" "p99 added"
d_rps=$(median <"$OUT/direct.rps")
d_p50=$(median <"$OUT/direct.p50")
d_p99=$(median <"$OUT/direct.p99")
for t in "${TARGETS[@]}"; do
  rps=$(median <"$OUT/$t.rps")
  p50=$(median <"$OUT/$t.p50")
  p99=$(median <"$OUT/$t.p99")
  awk -v t="$t" -v r="$rps" -v a="$p50" -v b="$p99" -v dr="$d_rps" -v da="$d_p50" -v db="$d_p99" 'BEGIN {
    printf "%-8s %12.0f %10.3f %10.3f %13.2fx %+11.3f %+11.3f\n", t, r, a, b, r / dr, a - da, b - db }'
done | tee "$OUT/summary.txt"
if [ -f "$OUT/nginx.rps" ]; then
  awk -v g="$(median <"$OUT/gateway.rps")" -v n="$(median <"$OUT/nginx.rps")" \
    'BEGIN { printf "gateway / nginx throughput: %.2fx\n", g / n }' | tee -a "$OUT/summary.txt"
fi
echo "raw wrk output: $OUT"
