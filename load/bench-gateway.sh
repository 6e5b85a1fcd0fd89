#!/usr/bin/env bash
# The gateway part of load/bench.sh on its own, called as it always was:
#
#   load/bench-gateway.sh [ROUNDS] [SECONDS_PER_ROUND] [CONNECTIONS]   (defaults 5, 5, 32)
#
# The same GET /users/1 straight to stub-upstream, through the gateway, and through nginx
# configured alike (skipped when nginx cannot be had), in interleaved rounds; prints the
# medians with the ratios to direct. docs/BENCHMARKS.md is left alone: load/bench.sh, which
# runs this part after the timeline comparison, writes it. BENCH_PORT_BASE picks the ports.
set -euo pipefail

exec "$(dirname "$0")/bench.sh" --only gateway \
  --rounds "${1:-5}" --seconds "${2:-5}" --gateway-connections "${3:-32}"
