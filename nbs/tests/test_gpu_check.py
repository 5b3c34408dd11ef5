"""The GPU check script runs as is on a machine without a GPU: one line saying so, exit status 0, nothing written."""
import os, subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

def test_gpu_check_without_gpu(tmp_path):
    before = sorted((ROOT / 'reports' / 'benchmarks').iterdir())
    p = subprocess.run(['bash', str(ROOT / '.ci' / 'gpu_check.sh')], capture_output=True, text=True, timeout=120,
                       env={**os.environ, 'CUDA_VISIBLE_DEVICES': ''})
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('gpu_check: no CUDA GPU here'), p.stdout
    assert sorted((ROOT / 'reports' / 'benchmarks').iterdir()) == before
