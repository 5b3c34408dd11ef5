#!/usr/bin/env bash
# The main job: set-up, then the default study on the embedded shapes data (pre-train with reduced tokens ->
# fine-tune at full tokens -> evaluate -> run report + summary) into the git-ignored runs/default/, then its numbers
# side by side with the committed record in reports/default/ and a verdict (identical / within tolerance / different;
# 'different' exits with status 3).
#   bash .ci/main.sh [STUDY] [clipa-study options]   another study, e.g. `emoji`, or `clipa_paper --dry-run`
#   bash .ci/main.sh [STUDY] --record                 (re)write the committed record itself in reports/STUDY/
# Re-running resumes: completed stages are skipped; an interrupted one starts again from its last checkpoint.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. .ci/setup.sh
study=default
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then study=$1; shift; fi
args=(); record=0
for a in "$@"; do if [ "$a" == "--record" ]; then record=1; else args+=("$a"); fi; done
if [ $record -eq 1 ]; then exec clipa-study "$study" --reports reports ${args[@]+"${args[@]}"}; fi
exec clipa-study "$study" --reports runs --compare reports ${args[@]+"${args[@]}"}
