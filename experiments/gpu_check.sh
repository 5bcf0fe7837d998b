#!/usr/bin/env bash
# Every GPU path in one run, for a lent GPU machine (about 15 minutes of device time in all, so
# this is sized to finish in under 10): the model baselines' throughput on CUDA, the GPU's
# selections next to the CPU's on the same records, and every GPU preset end to end at the
# smoke scale on CUDA. Results go to $OUT (the device tool's folder that comes back), or to
# experiments/results/gpu_check.
#
#   bash experiments/gpu_check.sh            # then commit what $OUT holds
set -uo pipefail
OUT="${OUT:-experiments/results/gpu_check}"
mkdir -p "$OUT"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
pip install -q -e ".[models]" > "$OUT/install.log" 2>&1
status=0
run() { echo "== $*" | tee -a "$OUT/log.txt"; ( time "$@" ) >> "$OUT/log.txt" 2>&1 || { echo "FAILED: $*" | tee -a "$OUT/log.txt"; status=1; }; }
run timeout 180 python -m experiments.model_throughput --device cuda --embed 20000 --lm 2000 --out "$OUT/model_throughput_cuda.json"
run timeout 180 python -m experiments.gpu_vs_cpu --out "$OUT/gpu_vs_cpu.json"
for preset in methods_gpu train_gpu entropy_law_gpu zipfit_gpu; do
  name=$(head -1 "experiments/$preset.toml" | sed -E 's/.*zipkit experiment ([a-z-]+) .*/\1/')
  sed "s#\"experiments/results/#\"$OUT/#g" "experiments/$preset.toml" > "$OUT/$preset.toml"
  run timeout 240 zipkit experiment "$name" --config "$OUT/$preset.toml" --out "$OUT/${preset%.toml}" \
    --smoke --smoke-device cuda --no-progress
done
rm -rf "$OUT"/*/runs "$OUT"/*/selections   # caches, not results
exit $status
