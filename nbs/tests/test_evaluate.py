"""End-to-end tests of clipa.evaluate: the papermill stage notebook and the command line, on a tiny shapes build."""
import json, os, shutil, subprocess, sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
NB = REPO / 'nbs' / 'experiments' / 'evaluate.ipynb'
KEYS = {'dataset', 'model', 'pretrained', 'task', 'metrics'}


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    "A tiny shapes build (train/test shards and the eval sets) in a temp folder."
    from clipa.shapes import build_shapes
    root = tmp_path_factory.mktemp('data')
    build_shapes(root=str(root / 'shapes'), n_train=64, n_test=48, seed=0)
    return root


def _check_outputs(out: Path, n_min: int = 4):
    js = sorted((out / 'results').glob('*.json'))
    assert len(js) >= n_min, js
    for f in js:
        r = json.loads(f.read_text())
        assert KEYS <= set(r) and r['metrics'], r
    df = pd.read_csv(out / 'results.csv')
    assert list(df.columns) == ['dataset', 'model', 'pretrained', 'task', 'metric', 'value']
    assert {'shapes/shape', 'shapes/colour', 'shapes/retrieval'} <= set(df.dataset)
    assert df.value.between(0, 1).all()
    return df


def test_stage_notebook(data_root, tmp_path):
    pm = pytest.importorskip('papermill')
    out = tmp_path / 'out'
    pm.execute_notebook(str(NB), str(tmp_path / 'evaluate.out.ipynb'), kernel_name='python3', cwd=str(tmp_path),
                        parameters=dict(model='clipa-tiny', checkpoint=None, dataset='shapes', tasks='all',
                                        data_root=str(data_root), out_dir=str(out), batch_size=32,
                                        fewshot_k=[1, 2], seeds=[0, 1], n_examples=2), progress_bar=False)
    df = _check_outputs(out)
    assert set(df.pretrained) == {'random-init'}
    pngs = list(out.glob('retrieval_examples_*.png'))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)
    assert (out / 'results_wide.csv').exists()


def test_cli_module(data_root, tmp_path):
    out = tmp_path / 'cli'
    cmd = [sys.executable, '-m', 'clipa.evaluate', '--model', 'clipa-tiny', '--dataset', 'shapes',
           '--data-root', str(data_root), '--out', str(out), '--batch-size', '32', '--no-progress']
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'wrote' in r.stdout
    _check_outputs(out)


def test_cli_checkpoint_and_errors(data_root, tmp_path):
    "A checkpoint file is loaded (pretrained = its path); a bad spec fails with one clear message, before compute."
    import torch
    from clipa.model import create_model
    torch.manual_seed(0)
    ckpt = tmp_path / 'ck.pt'
    torch.save({'state_dict': create_model('clipa-tiny').state_dict()}, ckpt)
    exe = shutil.which('clipa-evaluate') or None
    base = [exe] if exe else [sys.executable, '-m', 'clipa.evaluate']
    out = tmp_path / 'ck'
    r = subprocess.run(base + ['--model', 'clipa-tiny', '--checkpoint', str(ckpt), '--dataset', 'shapes',
                               '--tasks', 'zeroshot_classification', '--data-root', str(data_root), '--out', str(out),
                               '--no-progress'], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    df = pd.read_csv(out / 'results.csv')
    assert set(df.task) == {'zeroshot_classification'} and set(df.pretrained) == {str(ckpt)}
    r = subprocess.run(base + ['--model', 'clipa-tiny', '--dataset', 'nosuch', '--data-root', str(data_root),
                               '--out', str(tmp_path / 'bad')], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode != 0 and 'neither a suite' in r.stderr
    assert not (tmp_path / 'bad' / 'results.csv').exists()
