"""The big2x shapes world as a study uses it: a pre-training stage on `data: shapes-big2x` makes as many fresh pairs
as it sees (data seed 1000 + seed, so that two seeds see different pairs), the evaluation suite `shapes-big2x` is its
held-out sets (2,000 images each when the stage builds them; a smaller build here), and the inverse-scaling study file plans within its 12 h budget."""
import json, os, subprocess, sys
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENV = dict(os.environ, OMP_NUM_THREADS='1', NLTK_DATA=os.environ.get('NLTK_DATA', str(REPO.parent / 'shared' / 'nltk_data')))


def test_fresh_pairs_per_seed_and_the_held_out_suite(tmp_path):
    from clipa.stage import StageConfig
    from clipa.train import train, read_events
    from clipa.loaders import load_image_text, load_classification_set
    from clipa.shapes import build_shapes
    root = tmp_path / 'data'
    build_shapes(str(root / 'shapes-big2x'), n_train=20, n_test=200, world='big2x', progress=False)   # a small suite, used as is
    runs = {}
    for seed in (0, 1):
        s = train(StageConfig(model='clipa-l0', data='shapes-big2x', data_root=str(root), samples=256, batch_size=64,
                              warmup=1, warmup_unit='steps', threads=1, seed=seed, progress=False, heldout='auto',
                              heldout_every=2, out_dir=str(tmp_path / f'run{seed}')))
        assert s['steps'] == 4 and s['heldout_n'] == 200 and 0 <= s['heldout_r1'] <= 1 and s['heldout_loss'] > 0
        held = [e for e in read_events(tmp_path / f'run{seed}') if e['event'] == 'heldout']
        assert [e['step'] for e in held] == [2, 4], held        # every 2 steps and at the end
        runs[seed] = load_image_text(str(root / 'shapes-big2x' / f'train-n256-s{1000 + seed}'))
    assert len(runs[0]) == len(runs[1]) == 256                          # one fresh pair per sample seen
    assert not set(runs[0].captions) & set(runs[1].captions) or runs[0].captions != runs[1].captions
    assert (runs[0].images != runs[1].images).any()
    assert all('background' not in c for c in runs[0].captions)
    for task, n in (('shape', 7), ('colour', 12), ('count', 3)):
        ev = load_classification_set(str(root / 'shapes-big2x' / 'eval' / task))
        assert (len(ev), len(ev.classnames)) == (200, n)
    r = subprocess.run([str(BIN / 'clipa-evaluate'), '--model', 'clipa-l0', '--checkpoint',
                        str(tmp_path / 'run0' / 'checkpoints' / 'final.pt'), '--dataset', 'shapes-big2x',
                        '--tasks', 'zeroshot_classification', '--data-root', str(root), '--out', str(tmp_path / 'ev'),
                        '--max-samples', '200'], capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert {'shapes-big2x/shape', 'shapes-big2x/colour', 'shapes-big2x/count'} <= set(
        json.loads(p.read_text())['dataset'] for p in (tmp_path / 'ev' / 'results').glob('*.json'))


def test_the_study_plans_within_its_budget():
    r = subprocess.run([str(BIN / 'clipa-study'), 'inverse_scaling', '--dry-run', '--reports', '/nonexistent-reports'],
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    last = r.stdout.strip().splitlines()[-1]
    hours = float(last.split('estimated time at the study\'s measured speed: ')[1].split(' h')[0])
    assert hours <= 12, last
    assert "study 'inverse_scaling': 120 run(s) × 3 stage(s) + after: law" in r.stdout
