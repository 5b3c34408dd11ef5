#!/usr/bin/env bash
# The GPU check: on a machine with a CUDA GPU, measures clipa against open_clip_train on ViT-B-16 (amp_bf16, synthetic
# data, the same global batch) at full tokens and at 1/4 image tokens (resize, random): samples/s, MFU, peak memory;
# then a short shapes pre-train -> fine-tune -> evaluate on the GPU. Writes reports/benchmarks/gpu_check.md.
# At most ~10 minutes. Without a GPU it prints one line and exits 0.
#   bash .ci/gpu_check.sh [--steps N] [--batch-size B]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py=python3; [ -x .venv/bin/python ] && py=.venv/bin/python
if ! "$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu_check: no CUDA GPU here (torch.cuda.is_available() is False or torch is missing): nothing to measure"; exit 0
fi
[ -x .venv/bin/python ] || { bash .ci/setup.sh >/dev/null && py=.venv/bin/python; }
export NLTK_DATA="${NLTK_DATA:-$(cd .. && pwd)/shared/nltk_data}" MPLBACKEND=Agg
exec timeout 600 "$py" .ci/gpu_check.py "$@"
