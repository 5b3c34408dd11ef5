"""Downstream fine-tuning (Cherti et al.'s end-to-end fine-tuning task) end to end: a tiny CLIP briefly trained on
shapes, then its image tower fine-tuned on held-out shapes sets through the papermill stage notebook, must beat its
own zero-shot top-1 on the same held-out split."""
import json, os
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
NB = REPO / 'nbs' / 'experiments' / 'downstream.ipynb'


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "A shapes build (512 train pairs, 240-image eval sets) and clipa-tiny trained on it for 32 steps."
    os.environ.setdefault('NLTK_DATA', str(REPO.parent / 'shared' / 'nltk_data'))
    from clipa.shapes import build_shapes
    from clipa.stage import StageConfig; from clipa.train import train
    root = tmp_path_factory.mktemp('data')
    build_shapes(root=str(root / 'shapes'), n_train=512, n_test=240, seed=0, progress=False)
    out = tmp_path_factory.mktemp('pre')
    s = train(StageConfig(model='clipa-tiny', data=str(root / 'shapes' / 'train'), batch_size=32, samples=1024, lr=2e-3,
                          warmup=4, warmup_unit='steps', threads=2, out_dir=str(out), progress=False, tensorboard=False))
    return root, s['checkpoint']


def test_finetune_beats_zero_shot(trained, tmp_path):
    pm = pytest.importorskip('papermill')
    root, ckpt = trained
    out = tmp_path / 'ft'
    pm.execute_notebook(str(NB), str(tmp_path / 'downstream.out.ipynb'), kernel_name='python3', cwd=str(tmp_path),
                        parameters=dict(model='clipa-tiny', checkpoint=ckpt, sets='shapes/colour,shapes/count',
                                        data_root=str(root), out_dir=str(out), epochs=12, lr=1e-3, batch_size=16),
                        progress_bar=False)
    recs = {json.loads(f.read_text())['dataset']: json.loads(f.read_text()) for f in (out / 'results').glob('*.json')}
    assert set(recs) == {'shapes/colour', 'shapes/count'}
    for name, r in recs.items():
        m = r['metrics']; print(name, {k: round(v, 3) for k, v in m.items()})
        assert r['task'] == 'finetune' and r['pretrained'] == ckpt
        assert m['n_train'] + m['n_test'] == 240 and abs(m['n_train'] - m['n_test']) <= 8, m   # stratified halves
        assert len(r['history']) == 13 and r['history'][0]['test_acc1'] == m['zeroshot_acc1']
    m = recs['shapes/colour']['metrics']      # 8 classes, 15 training images each: it learns on the held-out half
    assert m['finetune_acc1'] >= m['zeroshot_acc1'] + 0.2, m
    # count (3 classes, 40 steps) moves by a few test images either way at this size: only its outputs are checked
    df = pd.read_csv(out / 'results.csv')
    assert {'finetune_acc1', 'zeroshot_acc1', 'gain'} <= set(df.metric)
    assert (out / 'finetune_curves.png').stat().st_size > 5000
