#!/usr/bin/env bash
# Issue 18's GPU check, one script (under 8 minutes on one GPU): install, the `gpu` tests, then the reuse benchmark on
# cuda at 8k, 32k and 128k tokens for the trained head and the full draft. Figures go to $OUT (default bench-results).
# Try it here first with: DEVICE=cpu LENGTHS=8192 benchmarks/gpu_check_reuse.sh
set -euo pipefail
OUT="${OUT:-bench-results}"
DEVICE="${DEVICE:-cuda}"
LENGTHS="${LENGTHS:-8192 32768 131072}"
mkdir -p "$OUT"
make install >"$OUT/install.log" 2>&1
if [ "$DEVICE" = "cuda" ]; then
  .venv/bin/python -m pytest -q -m gpu tests/test_gpu.py 2>&1 | tee "$OUT/gpu-tests.log"
fi
for model in smollm2-135m-head smollm2-135m; do
  for tokens in $LENGTHS; do
    .venv/bin/python benchmarks/bench_reuse.py --model "$model" --device "$DEVICE" --tokens "$tokens" \
      --skip loop,capped,disk --out "$OUT" >>"$OUT/bench.log" 2>&1
  done
done
cat "$OUT"/reuse-*.md
