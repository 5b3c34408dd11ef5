"""The data path a lab runs on GPUs, measured on web-like JPEG shards here (a benchmark, not a test; issue 30).

Shards: 1,024 shapes scenes rendered at 256 px, given a photographic look (smooth lighting gradient, sensor noise),
saved as JPEG (quality 90) with unique web-style captions, written twice by `clipa.shards.write_shards`: with stored
POS tags (what `clipa-data shard` writes) and without. No downloads.

Measured, one process on one core (torch threads 1, no loader workers), pairs/s through clipa's stream loader
(`clipa.loaders.stream_image_text`) and text reducer (`clipa.masking.TextReducer`):
  decode at 224 px (full decode + resize), at 112 and 64 px with and without PIL's draft decoding;
  text: truncation to 8 tokens, syntax masking to 8 tokens from stored tags, and syntax with tagging at load time.
Then the stream loader with stored tags on all cores (2 loader workers) against what the trainer consumes for the
largest CPU size (clipa-l4, batch 64, 64 px, fp32, synthetic data, measured in the same run), goal >= 3x; the
pixel difference of draft decoding; and the cores per GPU each configuration needs to feed CLIPA's pre-training on
A100s, at the per-GPU throughput that CLIPA's published 8xA100 timings imply (clipa.gpu_cost, docs/gpu_cost.md).

Writes reports/benchmarks/loader_benchmark.{csv,md}.  Run: .venv/bin/python reports/benchmarks/loader_benchmark.py
"""
import argparse, functools, os, sys, tempfile, time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
_NLTK = HERE.parents[2] / 'shared' / 'nltk_data'
if _NLTK.is_dir(): os.environ.setdefault('NLTK_DATA', str(_NLTK))
CITIES = ['Lisbon', 'Osaka', 'Quito', 'Nairobi', 'Oslo', 'Perth', 'Lima', 'Hanoi', 'Austin', 'Turin', 'Accra', 'Pune']


def web_samples(n: int, size: int = 256, seed: int = 0):
    "Shapes scenes at `size` px with a photographic look and unique web-style captions."
    from clipa.shapes import make_shapes
    r = np.random.default_rng(seed); y, x = np.mgrid[0:size, 0:size] / size
    for i, s in enumerate(make_shapes(n, seed=seed, image_size=size)):
        im = np.asarray(s['image'], np.float32)
        light = 0.75 + 0.35 * np.sin(3 * x + r.uniform(0, 6)) * np.cos(2 * y + r.uniform(0, 6))
        im = np.clip(im * light[..., None] + r.normal(0, 7, im.shape), 0, 255).astype(np.uint8)
        cap = (f"{s['caption']}, photographed by user{i:05d} in {CITIES[i % len(CITIES)]} "
               f"on a {'sunny' if i % 3 else 'cloudy'} afternoon")
        yield dict(key=f'{i:09d}', image=im, caption=cap)


def stream_pps(spec, image_size: int, text: str, n: int, draft: bool = True, workers: int = 0, batch: int = 64) -> float:
    "Pairs/s of the stream loader + text reducer over `n` pairs."
    import clipa.loaders as L, clipa.shards as S
    from clipa.masking import TextReducer
    L.decode_sample = functools.partial(S.decode_sample, draft=draft)    # the loader's decode, with or without draft
    strategy, length = text.split(':')
    red = TextReducer(strategy, int(length), cache_size=1)                # web captions are unique: no cache hits
    it = iter(L.stream_image_text(spec, batch_size=batch, image_size=image_size, shuffle=False, resampled=True,
                                  num_workers=workers))
    next(it)                                                              # warm-up (workers start, tagger loads)
    t0, k = time.perf_counter(), 0
    while k < n:
        images, caps = next(it); red(caps); k += len(caps)
    return k / (time.perf_counter() - t0)


def draft_difference(spec, image_size: int) -> float:
    "Mean |draft decode + resize - full decode + resize| in 0..255 levels, over the first 256 images."
    from clipa.shards import decode_sample, iter_tar_samples, new_skip_stats, resolve_shards
    st, d = new_skip_stats(), []
    for i, raw in enumerate(iter_tar_samples(resolve_shards(spec))):
        if i == 256: break
        a, b = decode_sample(raw, st, image_size), decode_sample(raw, st, image_size, draft=False)
        d.append(np.abs(np.asarray(a[0], np.float32) - np.asarray(b[0], np.float32)).mean())
    return float(np.mean(d))


def trainer_consumption(tmp: Path, model: str = 'clipa-l4', batch: int = 64, steps: int = 6, threads: int = 2) -> float:
    sys.path.insert(0, str(HERE))
    from train_benchmark import clipa_sps
    return clipa_sps(tmp, model, batch, steps, threads)


def cores_per_gpu(rows: pd.DataFrame) -> pd.DataFrame:
    "Cores per A100 to feed CLIPA's pre-training of B/16 (112 px, 16 tokens) and L/16 (64 px, 8 or 16 tokens)."
    from clipa.gpu_cost import CLIPA_TIMINGS, timings_table, gpu_peak
    from clipa.model import train_gflops
    tab = timings_table(lambda m, s, k, t: train_gflops(m, image_size=s, image_keep=k, text_len=t).total)
    out = []
    for t in tab:
        pre = t['stages'][0]
        per_gpu = t['mfu'] * gpu_peak(t['gpu']) * 1e12 / (pre['gflops'] * 1e9)    # pairs/s per GPU at the implied MFU
        size = 112 if pre['image_size'] > 64 else 64
        for _, r in rows[(rows.image_size == size) & rows.draft].iterrows():
            out.append(dict(recipe=t['name'], pretrain=f"{pre['image_size']} px, {pre['text_len']} tokens",
                            gpu_pairs_per_s=round(per_gpu), loader=r.config, pairs_per_s_per_core=round(r.pairs_per_s),
                            cores_per_gpu=round(per_gpu / r.pairs_per_s, 1)))
    return pd.DataFrame(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=1024, help='pairs per measurement')
    ap.add_argument('--out', default=str(HERE))
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    from clipa.shards import write_shards
    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as t:
        tagged, plain = Path(t) / 'tagged', Path(t) / 'plain'
        t0 = time.time()
        write_shards(web_samples(1024), tagged, samples_per_shard=256, image_format='jpg', tags=True)
        write_shards(web_samples(1024), plain, samples_per_shard=256, image_format='jpg', tags=False)
        print(f'shards written in {time.time() - t0:.0f} s', flush=True)
        plan = [(224, True, 'truncate:8', tagged, 'decode 224 px; truncation 8'),
                (112, False, 'truncate:8', tagged, 'full decode at 112 px; truncation 8'),
                (112, True, 'truncate:8', tagged, 'draft decode at 112 px; truncation 8'),
                (64, False, 'truncate:8', tagged, 'full decode at 64 px; truncation 8'),
                (64, True, 'truncate:8', tagged, 'draft decode at 64 px; truncation 8'),
                (64, True, 'syntax:8', tagged, 'draft decode at 64 px; syntax 8, stored tags'),
                (64, True, 'syntax:8', plain, 'draft decode at 64 px; syntax 8, tagged at load time'),
                (112, True, 'syntax:8', tagged, 'draft decode at 112 px; syntax 8, stored tags'),
                (112, True, 'syntax:8', plain, 'draft decode at 112 px; syntax 8, tagged at load time')]
        for size, draft, text, spec, name in plan:
            pps = stream_pps(str(spec), size, text, a.n, draft)
            rows.append(dict(config=name, image_size=size, draft=draft, text=text, cores=1, pairs_per_s=pps))
            print(f'{name}: {pps:.0f} pairs/s on one core', flush=True)
            pd.DataFrame(rows).to_csv(Path(a.out) / 'loader_benchmark.csv', index=False)   # kept if a later step fails
        diffs = {s: draft_difference(str(tagged), s) for s in (112, 64)}
        all_cores = stream_pps(str(tagged), 64, 'syntax:8', 4 * a.n, True, workers=2)
        consume = trainer_consumption(Path(t))
    df = pd.DataFrame(rows)
    df['pairs_per_s'] = df.pairs_per_s.round(0)
    cpg = cores_per_gpu(df)
    load1 = os.getloadavg()
    df.to_csv(Path(a.out) / 'loader_benchmark.csv', index=False)
    ratio = all_cores / consume
    md = [f"# Loader benchmark: web-like JPEG shards, stored tags, draft decoding\n",
          f"Made by `reports/benchmarks/loader_benchmark.py` on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} cores; "
          f"load average {load0[0]:.2f} before, {load1[0]:.2f} after; the machine is shared, so read ratios measured in "
          f"this run, not absolute numbers across days). 1,024 shapes scenes at 256 px with lighting and sensor noise, "
          f"JPEG quality 90, unique captions of {np.mean([len(s['caption'].split()) for s in web_samples(64)]):.0f} words.\n",
          "## Pairs/s on one core (stream loader + text reducer)\n", df.to_markdown(index=False), "",
          f"Draft decoding against full decode + resize: mean |difference| {diffs[112]:.2f} of 255 levels at 112 px, "
          f"{diffs[64]:.2f} at 64 px (JPEG's own DCT scaling instead of bicubic from 256 px).\n",
          "## All cores against the trainer\n",
          f"Stream loader, 2 workers, draft decode at 64 px, syntax 8 from stored tags: **{all_cores:.0f} pairs/s**. "
          f"The trainer consumes {consume:.0f} pairs/s for clipa-l4 (batch 64, 64 px, fp32, 2 threads) in the same run: "
          f"**{ratio:.1f}×** (goal >= 3×: {'met' if ratio >= 3 else f'missed by {3 / ratio:.2f}×'}). Loader and "
          "trainer share the 2 cores when they run together, so this ratio is what the loader leaves to spare.\n",
          "## Cores per A100 for CLIPA's pre-training\n",
          "Per-GPU pairs/s at the MFU that CLIPA's own 8×A100 timings imply (docs/gpu_cost.md: CLIPA, Li, Wang & Xie "
          "2023, abstract and UCSC-VLAA/CLIPA README; FLOPs per pair from clipa.model.train_gflops), divided by one "
          "core's pairs/s above.\n", cpg.to_markdown(index=False), ""]
    (Path(a.out) / 'loader_benchmark.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))


if __name__ == '__main__':
    main()
