"""End-to-end test of clipa.export: a model trained for a few steps, exported with the `clipa-export` console script,
loads in plain open_clip in a process that never imports clipa, and gives clipa's embeddings, tokens and
preprocessing; `clipa.zeroshot.load_model` takes the folder too."""
import json, os, subprocess, sys, textwrap
from pathlib import Path

import pytest
import torch

CLI = Path(sys.executable).parent / 'clipa-export'   # the console script pip installed beside this python
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
ENV.pop('PYTHONPATH', None)

PLAIN_OPEN_CLIP = textwrap.dedent('''
    import sys, torch, open_clip
    from PIL import Image
    hub, inputs, out = sys.argv[1:]
    model, _, preprocess = open_clip.create_model_and_transforms('local-dir:' + hub)
    tokenizer = open_clip.get_tokenizer('local-dir:' + hub)
    x = torch.load(inputs, weights_only=True)
    tokens = tokenizer(x['captions'])
    with torch.no_grad():
        img, txt = model.eval().encode_image(x['images']), model.encode_text(tokens)
    pixels = preprocess(Image.open(x['png']))
    assert not [m for m in sys.modules if m == 'clipa' or m.startswith('clipa.')], 'clipa was imported'
    torch.save(dict(image=img, text=txt, tokens=tokens, pixels=pixels), out)
''')


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A study-like run folder: clipa-tiny trained 4 steps at a reduced geometry (32 px by resizing, 16 text tokens)."
    from clipa.train import train
    root = tmp_path_factory.mktemp('run')
    summary = train(dict(model='clipa-tiny', data='synthetic', samples=256, batch_size=64, image_strategy='resize',
                         image_keep=0.25, text_length=16, threads=1, progress=False, tensorboard=False,
                         out_dir=str(root / 'main' / 'pretrain')))
    assert (summary['image_size'], summary['text_tokens']) == (32, 16)
    return root / 'main'


def test_export_loads_in_plain_open_clip(run, tmp_path):
    from PIL import Image
    from clipa.model import create_model, load_checkpoint_into
    from clipa.zeroshot import image_preprocess, load_model, tokenizer_for
    hub = tmp_path / 'hub'
    cmd = [str(CLI)] if CLI.exists() else [sys.executable, '-m', 'clipa.export']
    r = subprocess.run(cmd + [str(run), str(hub)], capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    ck = run / 'pretrain' / 'checkpoints' / 'final.pt'
    assert f'exported {ck} (clipa-tiny, 32 px, 16 text tokens, step 4)' in r.stdout, r.stdout
    assert {p.name for p in hub.iterdir()} == {'open_clip_config.json', 'open_clip_model.safetensors'}
    cfg = json.loads((hub / 'open_clip_config.json').read_text())
    assert cfg['model_cfg']['vision_cfg']['image_size'] == 32 and cfg['model_cfg']['text_cfg']['context_length'] == 16

    g = torch.Generator().manual_seed(0)
    captions = ['a red circle on the left', 'two blue squares', 'a large green triangle next to a star']
    Image.fromarray((torch.rand(48, 40, 3, generator=g) * 255).byte().numpy()).save(tmp_path / 'x.png')
    torch.save(dict(images=torch.randn(3, 3, 32, 32, generator=g), captions=captions, png=str(tmp_path / 'x.png')),
               tmp_path / 'inputs.pt')
    r = subprocess.run([sys.executable, '-c', PLAIN_OPEN_CLIP, str(hub), str(tmp_path / 'inputs.pt'),
                        str(tmp_path / 'plain.pt')], capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    plain = torch.load(tmp_path / 'plain.pt', weights_only=True)

    x = torch.load(tmp_path / 'inputs.pt', weights_only=True)
    model = create_model('clipa-tiny', image_size=32, context_length=16).eval()
    load_checkpoint_into(model, ck)
    tokens = tokenizer_for(model, 'clipa-tiny')(captions)
    assert torch.equal(plain['tokens'], tokens)
    with torch.no_grad():
        torch.testing.assert_close(plain['image'], model.encode_image(x['images']), atol=1e-5, rtol=0)
        torch.testing.assert_close(plain['text'], model.encode_text(tokens), atol=1e-5, rtol=0)
    torch.testing.assert_close(plain['pixels'], image_preprocess(model)(Image.open(tmp_path / 'x.png')), atol=1e-6, rtol=0)

    loaded, label = load_model('clipa-tiny', str(hub))   # what clipa-evaluate --model clipa-tiny --checkpoint OUT does
    assert label == str(hub)
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode_image(x['images']), plain['image'], atol=1e-5, rtol=0)


def test_evaluate_cli_takes_the_folder(run, tmp_path):
    import pandas as pd
    from clipa.shapes import build_shapes
    from clipa.export import export_model
    hub = export_model(run, tmp_path / 'hub')['out']
    build_shapes(root=str(tmp_path / 'data' / 'shapes'), n_train=16, n_test=24, seed=0)
    exe = Path(sys.executable).parent / 'clipa-evaluate'
    cmd = [str(exe)] if exe.exists() else [sys.executable, '-m', 'clipa.evaluate']
    r = subprocess.run(cmd + ['--model', 'clipa-tiny', '--checkpoint', hub, '--dataset', 'shapes', '--tasks',
                              'zeroshot_classification', '--data-root', str(tmp_path / 'data'), '--out', str(tmp_path / 'ev'),
                              '--no-progress'], capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    df = pd.read_csv(tmp_path / 'ev' / 'results.csv')
    assert set(df.task) == {'zeroshot_classification'} and set(df.pretrained) == {hub}
