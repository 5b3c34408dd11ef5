"""The README's main job end to end: `clipa-study default` (pre-train with reduced tokens -> fine-tune at full tokens
-> evaluate -> figures + summary) into a temporary reports folder, its zero-shot results above chance, and a rerun
that executes nothing. About 3.5 minutes on 2 cores (the shapes data set is built first when data/ is empty)."""
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _env():
    env = dict(os.environ, MPLBACKEND='Agg', PYTHONWARNINGS='ignore')
    env['PATH'] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    if (ROOT.parent / 'shared' / 'nltk_data').is_dir(): env.setdefault('NLTK_DATA', str(ROOT.parent / 'shared' / 'nltk_data'))
    return env


def _study(*args, timeout):
    return subprocess.run([sys.executable, '-m', 'clipa.study', *map(str, args)], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def test_default_study(tmp_path):
    "The main job completes, beats the image-blind baseline on shape and colour, writes its report, then resumes."
    reports = tmp_path / 'reports'
    r = _study('default', '--reports', reports, timeout=1500)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    run = reports / 'default' / 'main'
    st = json.loads((run / 'status.json').read_text())['stages']
    assert [st[s]['status'] for s in ('pretrain', 'finetune', 'evaluate')] == ['completed'] * 3, st
    res = {j['dataset']: j for j in (json.loads(p.read_text()) for p in (run / 'evaluate' / 'results').glob('*.json'))}
    for task in ('shapes/shape', 'shapes/colour'):
        c = res[task]['chance']
        # the whole 95% interval above max(1/C, majority share): what no model blind to the image can reach
        assert c['above'] and c['n'] == 1000 and c['p_value'] < 0.01, (task, c)
    assert res['shapes/colour']['metrics']['acc1'] > 0.8, res['shapes/colour']['metrics']
    assert res['shapes/retrieval']['metrics']['image_retrieval_recall@1'] > 0.1, res['shapes/retrieval']['metrics']
    summary = (reports / 'default' / 'summary.md').read_text()
    assert '1 completed, 0 failed' in summary and 'TFLOP' in summary, summary[:800]
    for f in ('main/pretrain/checkpoints/final.pt', 'main/finetune/checkpoints/final.pt', 'main/evaluate.ipynb',
              'figures.ipynb', 'results.csv'):
        assert (reports / 'default' / f).is_file(), f
    r2 = _study('default', '--reports', reports, timeout=300)          # completed stages are skipped
    assert r2.returncode == 0 and '0 stage(s) executed' in r2.stderr, r2.stderr[-2000:]
