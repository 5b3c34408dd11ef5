"""Does draft JPEG decoding move accuracy? (issue 30, item 2; a check, not a test.) clipa-l0 pre-trained at 64 px on
8,000 web-like 256 px JPEG pairs (big2x shapes scenes with lighting and sensor noise, as in loader_benchmark.py),
2 seeds, once with draft decoding (the default: PIL decodes at 1/4 scale, then resizes) and once with full decoding
+ bicubic resize; the held-out score (1,000 JPEG pairs decoded the same way as the run's training data) is compared
with the seed-to-seed spread. Writes reports/benchmarks/draft_accuracy.{csv,md}.
Run: .venv/bin/python reports/benchmarks/draft_accuracy.py
"""
import functools, os, sys, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
_NLTK = HERE.parents[2] / 'shared' / 'nltk_data'
if _NLTK.is_dir(): os.environ.setdefault('NLTK_DATA', str(_NLTK))


def web_jpegs(n, seed, split):
    from clipa.shapes import make_shapes
    r = np.random.default_rng([seed, 7]); y, x = np.mgrid[0:256, 0:256] / 256
    for i, s in enumerate(make_shapes(n, seed=seed, image_size=256, split=split, world='big2x')):
        im = np.asarray(s['image'], np.float32)
        light = 0.8 + 0.3 * np.sin(3 * x + r.uniform(0, 6)) * np.cos(2 * y + r.uniform(0, 6))
        yield dict(key=f'{split}{i:07d}', image=np.clip(im * light[..., None] + r.normal(0, 7, im.shape), 0, 255).astype(np.uint8),
                   caption=s['caption'])


def main():
    import clipa.shards as S, clipa.loaders as L
    from clipa.stage import StageConfig
    from clipa.train import train
    from clipa.shards import write_shards
    rows, t0 = [], time.time()
    with tempfile.TemporaryDirectory() as t:
        write_shards(web_jpegs(8000, 1000, 'train'), f'{t}/train', samples_per_shard=1000, image_format='jpg')
        write_shards(web_jpegs(1000, 0, 'test'), f'{t}/test', samples_per_shard=1000, image_format='jpg')
        print(f'shards in {time.time() - t0:.0f} s', flush=True)
        real = S.decode_sample
        for draft in (True, False):
            L.decode_sample = functools.partial(real, draft=draft)        # training data and held-out set alike
            for seed in (0, 1):
                s = train(StageConfig(model='clipa-l0', data=f'{t}/train', image_size=64, batch_size=64, samples=8000,
                                      lr=2e-3, warmup=1000, threads=2, seed=seed, progress=False, heldout=f'{t}/test',
                                      out_dir=f'{t}/run-{draft}-{seed}'))
                rows.append(dict(draft=draft, seed=seed, final_loss=s['final_loss'], heldout_loss=s['heldout_loss'],
                                 heldout_r1=s['heldout_r1'], train_s=round(s['train_s'], 1)))
                print(rows[-1], flush=True)
        L.decode_sample = real
    df = pd.DataFrame(rows); df.to_csv(HERE / 'draft_accuracy.csv', index=False)
    g = df.groupby('draft')[['heldout_loss', 'heldout_r1']]
    diff = g.mean().loc[True] - g.mean().loc[False]
    spread = df.groupby('draft')[['heldout_loss', 'heldout_r1']].agg(lambda v: v.max() - v.min()).max()
    md = ["# Draft JPEG decoding and accuracy\n",
          f"Made by `reports/benchmarks/draft_accuracy.py` on {time.strftime('%Y-%m-%d')}: clipa-l0, 8,000 web-like 256 px JPEG "
          "pairs (big2x scenes, lighting and noise), 64 px, 2 seeds, held-out 1,000 pairs.\n",
          df.to_markdown(index=False), "",
          f"Draft minus full decoding, mean over the 2 seeds: held-out loss {diff.heldout_loss:+.4f}, R@1 {diff.heldout_r1:+.4f}. "
          f"Seed-to-seed range within a decoding: loss {spread.heldout_loss:.4f}, R@1 {spread.heldout_r1:.4f}. "
          + ("The difference is inside the seed spread: draft decoding does not move accuracy beyond seed noise here."
             if abs(diff.heldout_loss) <= spread.heldout_loss and abs(diff.heldout_r1) <= spread.heldout_r1 else
             "The difference is larger than the seed spread: draft decoding changes accuracy here; see the table.")]
    (HERE / 'draft_accuracy.md').write_text('\n'.join(md) + '\n'); print('\n'.join(md))


if __name__ == '__main__':
    main()
