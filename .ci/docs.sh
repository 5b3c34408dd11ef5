#!/usr/bin/env bash
# The documentation site without Quarto: build `_docs/` (Sphinx + myst-nb over nbdev's processed notebooks,
# docs/build_site.py), then open every page in headless Chromium (docs/check_site.py: no console error, no broken
# image, no dangling link) and save a screenshot of the index in reports/figures/docs_index.png.
# Where Quarto is installed, `nbdev_docs` builds the same notebooks its own way.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. .ci/setup.sh
log=$(mktemp); t0=$SECONDS
python docs/build_site.py >"$log" 2>&1 || { cat "$log"; echo "docs: site build failed (log above)"; exit 1; }
echo "docs: built _docs/ in $((SECONDS - t0)) s"
python docs/check_site.py _docs --screenshot reports/figures/docs_index.png
