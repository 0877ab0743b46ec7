#!/usr/bin/env bash
# The GPU benchmark in one command (bf16, about 9 minutes): dev-selected tuning, seeds,
# baselines and ablations as parallel jobs on the GPU (sweep.py), then the speed figures.
# Needs .gpu_carry/ (python benchmarks/make_gpu_carry.py) because the GPU machine has no
# network and no ../shared. Results: JSON files under $OUT (default benchmarks/results/gpu-run).
#   bash benchmarks/gpu.sh                 # on the GPU machine
#   bash benchmarks/gpu.sh --smoke --device cpu --precision 32   # a CPU check of the script
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-benchmarks/results/gpu-run}"
CARRY="${GPU_CARRY:-.gpu_carry}"
PY="${PYTHON:-$(command -v python || command -v python3)}"
mkdir -p "$OUT"
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# The training config needs pydantic and Lightning's loggers need tensorboard(X); a machine
# without them gets the copies carried in .gpu_carry/site (pure-python or cp312 wheels).
if ! "$PY" -c "import pydantic" 2>/dev/null \
    || ! "$PY" -c "import importlib.util as u, sys; sys.exit(not (u.find_spec('tensorboard') or u.find_spec('tensorboardX')))"; then
  export PYTHONPATH="$PYTHONPATH:$CARRY/site"
fi
# The configuration class imports the offline-MiniLM package for its default backbone (also
# when transformers 5.17 builds a default config while saving); that package is not on the
# GPU machine, so .gpu_carry/shim provides its one function, pointing at the carried export.
export PYTHONPATH="$PYTHONPATH:$CARRY/shim"
export UNIMEEC_BENCH_PARENT_COMMAND="BUDGET_S=${BUDGET_S:-560} bash benchmarks/gpu.sh${*:+ $*}"
"$PY" benchmarks/gpu.py --carry "$CARRY" --out "$OUT" --budget-s "${BUDGET_S:-560}" "$@" \
  2>&1 | grep --line-buffered -v -E "Loading weights|Writing model shards|litlogger|rank_zero|^\s*$" \
  | tee "$OUT/gpu.log"
