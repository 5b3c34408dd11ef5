"""Does CLIP learn *shape* on shapes when every batch holds hard negatives that differ only in shape? A diagnostic.

`shape_contrastive.py` found that the text tower never separates shape words: captions in a random batch of 128 are
told apart by colour, position, background and count. This script removes that shortcut. It writes a training set of
*contrast groups*: each group is one scene drawn `--group` times, identical in pixels and caption except that every
object's shape is shifted cyclically through the 7 shapes (so captions differ only in their shape words). Training
keeps each group together in a batch (the trainer's epoch permutation is replaced by a group-wise one in this
process), so a quarter of each row's negatives can only be told apart by shape. Then it reports

    within-group   image->text top-1 among the `--group` captions of a held-out group (chance 1/group): does the
                   model tell shapes apart when everything else is equal?
    zero-shot      shape / colour / count top-1 on the held-out shapes eval sets (chance 0.143 / 0.125 / 0.333)
    probe          a linear probe of shape on the frozen image embedding (held-out half of the shape set)
    cos_shape      mean text-embedding cosine of captions differing only in the shape word (see shape_contrastive.py)

Library code is not changed: the group order and the data live in this process. Used in reports/README.md
("Shape at this scale", hard negatives).

    python reports/diagnostics/shape_hard_negatives.py --samples 60000 --batch-size 32 --lr 1e-3 --stem conv --pool tok \
        --image-strategy none --text-strategy truncate --text-length 32 --out /tmp/hn
"""
import argparse, io, itertools, json, sys, tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shape_contrastive as sc
import clipa.data as D
import clipa.model as cm
import clipa.train as T
from clipa import evaluate as ev


def contrast_groups(n_groups: int, group: int, seed: int = 0, image_size: int = 64):
    "Samples {key, image (PNG bytes), caption} of `n_groups` scenes, each drawn `group` times with shapes shifted."
    for k in range(n_groups):
        rng = np.random.default_rng([seed, 99, k])
        base = D.sample_scene(rng, 'train')
        shifts = rng.permutation(len(D.SHAPES))[:group]
        render_seed = int(rng.integers(2**31))
        for j, shift in enumerate(shifts):
            lab = json.loads(json.dumps(base))
            for o in lab['objects']: o['shape'] = D.SHAPES[(D.SHAPES.index(o['shape']) + int(shift)) % len(D.SHAPES)]
            im = D.render_scene(lab, image_size, np.random.default_rng(render_seed))   # same background noise
            yield dict(key=f'g{k:06d}_{j}', image=D.encode_image(im), caption=D.shapes_caption(lab))


def keep_groups_together(group: int):
    "Replace clipa.train's epoch permutation (in this process) by one that permutes whole groups of `group` samples."
    perm = T.epoch_permutation
    def grouped(n, seed, epoch):
        if n % group: raise ValueError(f'{n} samples do not split into groups of {group}')
        return (perm(n // group, seed, epoch)[:, None] * group + torch.arange(group)).reshape(-1)
    T.epoch_permutation = grouped


def within_group_accuracy(model, tok, group: int, n_groups: int = 250) -> float:
    "Image->text top-1 among the captions of its own held-out contrast group (chance 1/group)."
    s = list(contrast_groups(n_groups, group, seed=123))
    x = torch.stack([torch.from_numpy(np.array(Image.open(io.BytesIO(r['image'])).convert('RGB'))).permute(2, 0, 1) for r in s])
    with torch.no_grad(): fi = torch.nn.functional.normalize(model.encode_image(D.to_model_input(x, 64)), dim=-1)
    ft = ev.encode_texts(model, tok, [r['caption'] for r in s])
    sim = (fi @ ft.T).view(n_groups, group, n_groups, group)
    within = torch.stack([sim[k, :, k, :] for k in range(n_groups)])
    return round((within.argmax(-1) == torch.arange(group)).float().mean().item(), 3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='clipa-tiny'); ap.add_argument('--group', type=int, default=4)
    ap.add_argument('--groups', type=int, default=5000, help='contrast groups in the training set')
    ap.add_argument('--stem', choices=('patch', 'conv'), default='patch'); ap.add_argument('--pool', choices=('avg', 'tok'), default='avg')
    ap.add_argument('--samples', type=int, default=100000); ap.add_argument('--batch-size', type=int, default=128)
    ap.add_argument('--lr', type=float, default=2e-3); ap.add_argument('--warmup', type=int, default=10000)
    ap.add_argument('--image-strategy', default='grid'); ap.add_argument('--image-keep', type=float, default=None, help='default: 0.25, or 1 with strategy none')
    ap.add_argument('--text-strategy', default='syntax'); ap.add_argument('--text-length', type=int, default=8)
    ap.add_argument('--finetune', type=int, default=0, help='then this many pairs at full tokens (same groups)')
    ap.add_argument('--eval-root', default='data/shapes/eval'); ap.add_argument('--out', default=None)
    a = ap.parse_args()
    if a.image_keep is None: a.image_keep = 1.0 if a.image_strategy == 'none' else 0.25
    out = Path(a.out or tempfile.mkdtemp(prefix='shape_hard_negatives_'))
    data = out / 'data'
    if not any(data.glob('*.tar')): D.write_shards(contrast_groups(a.groups, a.group), data, samples_per_shard=1000)
    keep_groups_together(a.group)
    name = a.model if (a.pool, a.stem) == ('avg', 'patch') else sc.variant(a.model, a.pool, a.stem, out / 'cfg')
    common = dict(model=name, data=str(data), image_size=64, batch_size=a.batch_size, progress=False, tensorboard=False)
    s = T.train(T.StageConfig(**common, image_strategy=a.image_strategy, image_keep=a.image_keep,
                              text_strategy=a.text_strategy, text_length=a.text_length, samples=a.samples, lr=a.lr,
                              warmup=min(a.warmup, a.samples // 2), out_dir=str(out / 'pretrain')))
    stages = [('pretrain', s)]
    if a.finetune:
        stages.append(('finetune', T.train(T.StageConfig(**common, samples=a.finetune, lr=a.lr / 4, warmup=a.finetune // 10,
                                                         init_checkpoint=s['checkpoint'], out_dir=str(out / 'finetune')))))
    for stage, s in stages:
        r = sc.report(name, s['checkpoint'], Path(a.eval_root))
        m = cm.create_model(name); cm.load_checkpoint_into(m, s['checkpoint']); m.eval(); tok = ev.tokenizer_for(m, name)
        r['within_group'] = within_group_accuracy(m, tok, a.group)
        probe = ev.linear_probe(m, D.load_classification_set(Path(a.eval_root) / 'shape'), ks=())
        r['shape_probe'] = round(probe['acc1'], 3)
        print(stage, f"final loss {s['final_loss']:.3f}", r, flush=True)


if __name__ == '__main__':
    main()
