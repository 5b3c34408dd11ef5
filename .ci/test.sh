#!/usr/bin/env bash
# The whole test suite: set-up, notebooks<->package sync, clean notebooks, notebook tests (nbdev_test),
# pytest (command line and papermill end-to-end). Ends with one line: "N passed, N failed".
# Extra arguments go to nbdev_test (e.g. `--flags slow` to run the long cells too).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# set-up runs in its own shell (it uses `set -e`), then is sourced, now a no-op, for PATH and NLTK_DATA
bash .ci/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
. .ci/setup.sh; set +e
# the docs-site test (nbs/tests/test_site.py) opens every page in Debian's headless chromium: install it as root
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
    || echo "test set-up: could not install chromium; the docs-site browser test will be skipped" >&2
fi
passed=0; failed=0
ok()   { passed=$((passed+1)); echo "PASS: $*"; }
bad()  { failed=$((failed+1)); echo "FAIL: $*"; }
snapshot() { find clipa nbs -type f \( -name '*.py' -o -name '*.ipynb' \) -not -path '*/__pycache__/*' \
               -not -path '*/.ipynb_checkpoints/*' | sort | xargs sha1sum; }

s0=$(snapshot); nbdev_export; s1=$(snapshot)
if [ "$s0" == "$s1" ]; then ok "nbdev_export leaves clipa/ unchanged"; else
  bad "nbdev_export changed files (run nbdev_export and commit):"; diff <(echo "$s0") <(echo "$s1") | grep '^>' ; fi
nbdev_clean; s2=$(snapshot)
if [ "$s1" == "$s2" ]; then ok "notebooks are clean (nbdev_clean)"; else
  bad "nbdev_clean changed notebooks (run nbdev_clean and commit):"; diff <(echo "$s1") <(echo "$s2") | grep '^>' ; fi

log=$(mktemp)
python .ci/nbtest.py "$@" 2>&1 | tee "$log"
read -r nbp nbf < <(tail -n 1 "$log" | sed -E 's/^notebooks: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/')
passed=$((passed + ${nbp:-0})); failed=$((failed + ${nbf:-1}))

xml=$(mktemp --suffix .xml)
python -m pytest nbs/tests -q -p no:cacheprovider --durations=15 --junitxml="$xml"; rc=$?
if [ $rc -eq 5 ]; then echo "pytest: no tests collected";
else
  read -r pt pf pe ps < <(python - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot(); s = r if r.tag == 'testsuite' else r.find('testsuite')
print(s.get('tests'), s.get('failures'), s.get('errors'), s.get('skipped'))
PY
)
  passed=$((passed + pt - pf - pe - ps)); failed=$((failed + pf + pe))
  [ $rc -ne 0 ] && [ $((pf + pe)) -eq 0 ] && failed=$((failed + 1))
fi
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
