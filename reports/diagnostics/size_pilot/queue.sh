#!/bin/bash
export PYTHONPATH=/work/probe NLTK_DATA=/work/shared/nltk_data MPLBACKEND=Agg OMP_WAIT_POLICY=PASSIVE
cd /work/probe
while read -r line; do
  [ -z "$line" ] && continue
  echo "=== $(date +%T) $line"
  nice -n 10 /work/main/.venv/bin/python probe/run.py $line 2>&1 | grep -v Warning | tail -2
done < "$1"
