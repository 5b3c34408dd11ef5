"""Can clipa-tiny's image tower learn *shape* on the shapes data at all? A supervised check, no text tower.

Trains the ViT of `clipa-tiny` (or another registered model) plus a linear head with cross-entropy on N images of
the shapes `shape` split (every object in an image has the same shape; 7 classes), and reports held-out top-1 on
1000 other images after each epoch. Used in reports/README.md ("Shape at this scale").

    python reports/diagnostics/shape_supervised.py --n 5000 --epochs 8 --lr 1e-3 [--model clipa-tiny] [--patch 4] [--pool tok]
"""
import argparse, json, time
import numpy as np
import torch
import torch.nn.functional as F
import open_clip
from clipa.data import make_shapes, to_model_input, SHAPES
import clipa.model as cm


def tensors(samples):
    x = torch.stack([torch.from_numpy(np.array(s['image'])).permute(2, 0, 1) for s in samples])
    return to_model_input(x, 64), torch.tensor([SHAPES.index(s['labels']['shape']) for s in samples])


def conv_stem(width: int, patch: int) -> torch.nn.Module:
    "log2(patch) stride-2 3x3 convolutions (GELU between) that map pixels to the same [B, width, H/patch, W/patch] grid."
    n = patch.bit_length() - 1; chans = [3] + [max(width // 2 ** (n - i), 16) for i in range(1, n)] + [width]
    layers = []
    for i in range(n):
        layers.append(torch.nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1))
        if i < n - 1: layers.append(torch.nn.GELU())
    return torch.nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=5000); ap.add_argument('--epochs', type=int, default=8)
    ap.add_argument('--lr', type=float, default=1e-3); ap.add_argument('--model', default='clipa-tiny')
    ap.add_argument('--patch', type=int, default=None, help='override the patch size (e.g. 4: 256 tokens at 64 px)')
    ap.add_argument('--pool', choices=('avg', 'tok'), default='avg',
                    help="avg: CLIPA's global average pooling (the clipa tiers); tok: a class token and a pre-LayerNorm")
    ap.add_argument('--stem', choices=('patch', 'conv'), default='patch',
                    help="patch: the ViT's linear patch embedding; conv: three stride-2 3x3 convolutions in its place")
    ap.add_argument('--batch-size', type=int, default=128); ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    x, y = tensors(make_shapes(a.n, seed=5, split='shape')); tx, ty = tensors(make_shapes(1000, seed=6, split='shape'))
    cfg = json.loads(json.dumps(cm.MODEL_CONFIGS[a.model]))
    if a.patch: cfg['vision_cfg']['patch_size'] = a.patch
    if a.pool == 'tok': cfg['vision_cfg'].update(pool_type='tok', no_ln_pre=False, final_ln_after_pool=False)
    visual = open_clip.model.CLIP(**cfg).visual
    if a.stem == 'conv': visual.conv1 = conv_stem(visual.conv1.out_channels, visual.conv1.stride[0])
    head = torch.nn.Linear(visual.output_dim, len(SHAPES))
    opt = torch.optim.AdamW(list(visual.parameters()) + list(head.parameters()), lr=a.lr, weight_decay=0.05)
    t0 = time.time()
    for ep in range(1, a.epochs + 1):
        visual.train(); order = torch.randperm(a.n)
        for s in range(0, a.n, a.batch_size):
            i = order[s:s + a.batch_size]
            loss = F.cross_entropy(head(visual(x[i])), y[i]); opt.zero_grad(); loss.backward(); opt.step()
        visual.eval()
        with torch.no_grad():
            acc = (head(visual(tx)).argmax(1) == ty).float().mean().item()
            tr = (head(visual(x[:1000])).argmax(1) == y[:1000]).float().mean().item()
        print(f'epoch {ep}: train top-1 {tr:.3f}  held-out top-1 {acc:.3f}  ({time.time() - t0:.0f} s)', flush=True)


if __name__ == '__main__':
    main()
