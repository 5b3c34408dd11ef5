"""Does contrastive training on shapes learn *shape* once the image tower can learn it? A diagnostic, not a library path.

`shape_supervised.py` shows that clipa-tiny's ViT learns shape from labels far faster with a convolutional stem and a
class token (`--stem conv --pool tok`). This script trains the whole CLIP (clipa.train, same recipe knobs as the
pretrain stage) with that image tower, evaluates zero-shot shape / colour / count on the held-out shapes sets, and
measures how far the *text* tower separates captions that differ in one word:

    cos(shape)  = mean cosine between "a small {colour} {shape} at the top on a grey background" captions that differ
                  only in the shape word (1.0: the text tower ignores shape)
    cos(colour) = the same for captions that differ only in the colour word

The conv stem is swapped in by wrapping `clipa.model.create_model` inside this process (the library's tiers keep
CLIPA's linear patch embedding). Used in reports/README.md ("Shape at this scale").

    python reports/diagnostics/shape_contrastive.py --samples 60000 --stem conv --pool tok [--data PATH] \
        [--image-strategy grid --image-keep 0.25 --text-strategy syntax --text-length 8] [--finetune 20000]
"""
import argparse, json, tempfile
from pathlib import Path

import torch
import open_clip
import clipa.model as cm
from clipa import evaluate as ev
from clipa.data import SHAPES, COLOURS, load_classification_set
from clipa.train import train, StageConfig
from shape_supervised import conv_stem


def variant(base: str, pool: str, stem: str, cfg_dir: Path) -> str:
    "Register `base` with the requested pooling as an open_clip config; wrap create_model to swap in the stem."
    name = f'{base}-{pool}-{stem}'
    cfg = json.loads(json.dumps(cm.MODEL_CONFIGS[base]))
    if pool == 'tok': cfg['vision_cfg'].update(pool_type='tok', no_ln_pre=False, final_ln_after_pool=False)
    cfg_dir.mkdir(parents=True, exist_ok=True); (cfg_dir / f'{name}.json').write_text(json.dumps(cfg))
    open_clip.add_model_config(cfg_dir)
    create = cm.create_model

    def create_model(n, *a, **k):
        m = create(n, *a, **k)
        if n == name and stem == 'conv':
            old = m.visual.conv1
            with torch.device(old.weight.device):
                m.visual.conv1 = conv_stem(old.out_channels, old.stride[0]).to(old.weight.dtype)
        return m
    cm.create_model = create_model
    return name


def report(name: str, checkpoint: str, eval_root: Path) -> dict:
    m = cm.create_model(name); cm.load_checkpoint_into(m, checkpoint); m.eval()
    tok = ev.tokenizer_for(m, name)
    out = {t: round(ev.zero_shot_classification(m, load_classification_set(eval_root / t), tokenizer=tok)['acc1'], 3)
           for t in ('shape', 'colour', 'count')}
    cols = list(COLOURS)[:len(SHAPES)]
    E = ev.encode_texts(m, tok, [f'a small {c} {s} at the top on a grey background' for c in cols for s in SHAPES])
    E = E.view(len(cols), len(SHAPES), -1); off = ~torch.eye(len(SHAPES), dtype=torch.bool)
    out['cos_shape'] = round(torch.stack([E[i] @ E[i].T for i in range(len(cols))]).mean(0)[off].mean().item(), 3)
    out['cos_colour'] = round(torch.stack([E[:, j] @ E[:, j].T for j in range(len(SHAPES))]).mean(0)[off].mean().item(), 3)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='clipa-tiny'); ap.add_argument('--stem', choices=('patch', 'conv'), default='conv')
    ap.add_argument('--pool', choices=('avg', 'tok'), default='tok')
    ap.add_argument('--data', default='shapes', help="training data: 'shapes' or a folder of shards")
    ap.add_argument('--eval-root', default='data/shapes/eval', help='folder with the shape/colour/count eval sets')
    ap.add_argument('--samples', type=int, default=60000); ap.add_argument('--finetune', type=int, default=0,
                    help='then fine-tune this many pairs at full tokens (0: evaluate the pre-trained model)')
    ap.add_argument('--image-strategy', default='none'); ap.add_argument('--image-keep', type=float, default=1.0)
    ap.add_argument('--text-strategy', default='truncate'); ap.add_argument('--text-length', type=int, default=32)
    ap.add_argument('--batch-size', type=int, default=128); ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--warmup', type=int, default=10000, help='warm-up samples of the pre-training stage')
    ap.add_argument('--out', default=None, help='output folder (default: a temporary one)')
    a = ap.parse_args()
    out = Path(a.out or tempfile.mkdtemp(prefix='shape_contrastive_'))
    name = variant(a.model, a.pool, a.stem, out / 'cfg')
    common = dict(model=name, data=a.data, image_size=64, batch_size=a.batch_size, progress=False, tensorboard=False)
    s = train(StageConfig(**common, image_strategy=a.image_strategy, image_keep=a.image_keep,
                          text_strategy=a.text_strategy, text_length=a.text_length, samples=a.samples, lr=a.lr,
                          warmup=min(a.warmup, a.samples // 2), out_dir=str(out / 'pretrain')))
    print('pretrain', report(name, s['checkpoint'], Path(a.eval_root)), flush=True)
    if a.finetune:
        s = train(StageConfig(**common, samples=a.finetune, lr=a.lr / 4, warmup=a.finetune // 10,
                              init_checkpoint=s['checkpoint'], out_dir=str(out / 'finetune')))
        print('finetune', report(name, s['checkpoint'], Path(a.eval_root)), flush=True)


if __name__ == '__main__':
    main()
