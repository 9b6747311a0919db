#!/usr/bin/env bash
# Issue 20's GPU check, one script (under 8 minutes on one GPU): install, then the load benchmark against a server on
# cuda at 1, 8, 32 and 64 concurrent clients, each request scored alone (exact) and with shared forward passes.
# Figures go to $OUT (default bench-results). Try it here first with:
#   DEVICE=cpu REQUESTS=8 CLIENTS=4 benchmarks/gpu_check_serving.sh
set -euo pipefail
OUT="${OUT:-bench-results}"
DEVICE="${DEVICE:-cuda}"
REQUESTS="${REQUESTS:-64}"
CLIENTS="${CLIENTS:-8,32,64}"
mkdir -p "$OUT"
make install >"$OUT/install.log" 2>&1
for mode in "" "--share-passes"; do
  .venv/bin/python benchmarks/bench_serving.py --model auto --device "$DEVICE" --requests "$REQUESTS" \
    --clients "$CLIENTS" $mode --out "$OUT" >>"$OUT/bench.log" 2>&1
done
cat "$OUT"/serving*.md
