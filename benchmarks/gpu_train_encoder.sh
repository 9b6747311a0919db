#!/usr/bin/env bash
# The encoder token classifier's recipe on a GPU, one script (about 10 minutes on one H100): install, train from the
# sieve's reranker with the unit ranking loss and hop questions on the full training splits, then measure it on the
# report split at 4k (HotpotQA and SQuAD, both paths). Weights, log and results go to $OUT (default bench-results).
# Try it here first, small: DEVICE=cpu HOTPOT=8 SQUAD=8 SYNTHETIC=0 EPOCHS=1 SAMPLES=2 benchmarks/gpu_train_encoder.sh
# A faster student (issue 17's 4,000 tokens/s): LAYERS=3 INIT=lingua HOP_SHARE=0.25 keeps the first 3 layers of the
# shipped classifier and trains them; the script then also times the student against minilm-l6-lingua in fp32 on
# the CPU (OUT/speed.log).
set -euo pipefail
OUT="${OUT:-bench-results}"
DEVICE="${DEVICE:-cuda}"
mkdir -p "$OUT"
make model data >"$OUT/install.log" 2>&1
.venv/bin/python -m contextsieve_eval.recipe.encoder --out "$OUT/encoder" --device "$DEVICE" \
  --hotpot "${HOTPOT:-1700}" --squad "${SQUAD:-1500}" --synthetic "${SYNTHETIC:-20}" --epochs "${EPOCHS:-3}" \
  --length 1536 --max-length 512 --overlap 64 --init "${INIT:-reranker}" --rank-weight 1.0 --hop-share 0.5 --hop \
  --hop-window-share "${HOP_SHARE:-1.0}" ${LAYERS:+--layers "$LAYERS"} \
  2>&1 | grep -v "Writing model\|Loading weights" | tee "$OUT/train.log"
rm -rf "$OUT/encoder/checkpoint" "$OUT/encoder/init"
.venv/bin/contextsieve eval --no-progress --device "$DEVICE" --tasks hotpotqa,squad --paths context,documents \
  --lengths 4k --samples "${SAMPLES:-96}" --rates 0.05,0.1,0.25 --methods "contextsieve:$OUT/encoder/model" \
  --out "$OUT/eval-4k" 2>&1 | tail -40 | tee "$OUT/eval.log"
if [ -n "${LAYERS:-}" ]; then
  for model in minilm-l6-lingua "$OUT/encoder/model" minilm-l6-lingua "$OUT/encoder/model"; do
    .venv/bin/python benchmarks/bench_scoring.py --one 32768 \
      --options "{\"model\": \"$model\", \"dtype\": \"float32\", \"device\": \"cpu\"}" 2>&1 | tail -1
  done | tee "$OUT/speed.log"
fi
