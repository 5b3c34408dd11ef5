#!/usr/bin/env bash
# Idempotent set-up: a local .venv with the pinned environment from settings.ini, clipa installed
# editable, a Jupyter kernel registered inside the venv, NLTK's tagger reachable.
# Source it (`. .ci/setup.sh`) so that PATH and NLTK_DATA carry over to the caller.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "clipa set-up: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=".venv/.clipa-setup-$(cat settings.ini setup.py | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "clipa set-up: installing the pinned environment (a few minutes on a fresh machine)"
  # pip's find-links warnings on this machine are noise; real errors still fail the step
  .venv/bin/python -m pip install -q --upgrade pip 2> >(grep -v 'is ignored: it is neither' >&2)
  .venv/bin/python -m pip install -q -e ".[dev]" 2> >(grep -v 'is ignored: it is neither' >&2)
  .venv/bin/python -m ipykernel install --sys-prefix --name clipa --display-name "clipa (.venv)" >/dev/null
  rm -f .venv/.clipa-setup-*; touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
# kernels started by papermill talk over local TCP; their "running over TCP without encryption" warning is noise here
kcfg=.venv/etc/ipython/ipython_kernel_config.json
[ -f "$kcfg" ] || { mkdir -p .venv/etc/ipython && printf '{"IPKernelApp": {"log_level": "ERROR"}}\n' > "$kcfg"; }
# NLTK's POS tagger for syntax masking: the offline copy beside the checkout, else NLTK's download.
if [ -d ../shared/nltk_data ]; then
  export NLTK_DATA="$(cd ../shared/nltk_data && pwd)"
elif ! .venv/bin/python -c "import nltk; nltk.data.find('taggers/averaged_perceptron_tagger_eng/')" 2>/dev/null; then
  .venv/bin/python -c "import nltk; nltk.download('averaged_perceptron_tagger_eng', quiet=True)" \
    || echo "clipa set-up: could not download NLTK's tagger; syntax masking will say how to get it" >&2
fi
export MPLBACKEND=Agg
# on a busy machine OpenMP's spinning waits slow torch's CPU threads ~20x (measured); passive waits change no number
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
