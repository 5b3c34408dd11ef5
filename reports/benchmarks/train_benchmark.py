"""Benchmark of clipa's trainer on this machine (a benchmark, not a test; issues 16 and 29). One run measures, side by side:

0. this machine's fp32 matmul peak (GFLOP/s of square GEMMs, the same threads) — the MFU denominator;
1. for every size of the CPU model ladder (clipa-l1..l4) at batches 64 and 128 (64 px, fp32): samples/s of
   `clipa.train` and of `python -m open_clip_train.main` (synthetic data, same model config, batch, precision and
   threads) at full tokens, and at 1/4 image tokens (clipa's random masking against open_clip_train's
   --force-patch-dropout 0.75), with model FLOP utilization (training GFLOPs per pair x samples/s / matmul peak) —
   goal: clipa >= 1.5x at the two largest sizes, MFU >= 0.6 at the largest;
2. levers, each on and off side by side: clipa's fast attention (the default) against nn.MultiheadAttention's path;
   a preloaded allocator (Debian's libjemalloc2, libtcmalloc-minimal4, when installed) and OpenMP thread pinning,
   each in fresh processes; torch.compile of the model (steady-state samples/s, compile seconds, loss difference);
3. a profile of the two largest sizes at full tokens and at 1/4 image tokens (resize, random): wall time of each
   phase of a step (data hand-off, input, forward, loss, backward, grad norm + AdamW) and torch.profiler's self-CPU
   share of each op group;
4. samples/s for each image strategy at keep 1/2 and 1/4 against the FLOP ratio of `clipa.model.train_gflops`
   (the two largest sizes) — goal: realized speed-up >= 90% of the FLOP ratio;
5. the data path alone (in-memory as the trainer runs it after its first epoch, cold with every caption tagged, and
   the webdataset stream) against the fastest consumption measured above — goal: >= 3x;
6. peak memory (max RSS of a fresh process) per ladder size and batch.

Writes reports/benchmarks/train_benchmark.{csv,md} and train_speedup.png. Numbers are per-step medians after warm-up
steps; the machine's load average before and after is recorded because other jobs share these CPU cores.
Run:  .venv/bin/python reports/benchmarks/train_benchmark.py [--quick] [--models ...] [--batches 64 128]
"""
import argparse, json, os, re, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
_NLTK = HERE.parents[2] / 'shared' / 'nltk_data'          # the project's NLTK tagger (syntax text masking)
if _NLTK.is_dir(): os.environ.setdefault('NLTK_DATA', str(_NLTK))
OC_WRAPPER = "import sys, torch; torch.set_num_threads(int(sys.argv[1])); import clipa.model; " \
             "from open_clip_train.main import main; main(sys.argv[2:])"
MEM_SNIPPET = "import sys, json, resource, torch, clipa.model; from clipa.train import StageConfig, train; " \
              "clipa.model.train_gflops = lambda *a, **k: 0.0; " \
              "s = train(StageConfig(**json.loads(sys.argv[1]))); " \
              "print('MAXRSS', [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"


def clipa_sps(tmp: Path, model: str, batch: int, steps: int, threads: int, warm: int = 2, **kw) -> float:
    "Median per-step samples/s of clipa.train on synthetic data (steps after `warm` warm-up steps)."
    from clipa.train import StageConfig, train, read_log
    out = tmp / f"clipa-{model}-{batch}-{kw.get('image_strategy', 'none')}-{kw.get('image_keep', 1.0)}-{time.time_ns()}"
    train(StageConfig(model=model, data='synthetic', max_samples=max(1024, 2 * batch), image_size=64, batch_size=batch,
                      samples=batch * (steps + warm), threads=threads, log_every=1, save_every=0, progress=False,
                      tensorboard=False, out_dir=str(out), **kw))
    return float(read_log(out).samples_per_s.iloc[warm:].median())


ALLOCATORS = ('/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4')
SPS_SNIPPET = "import sys, json; sys.path.insert(0, sys.argv[1]); import train_benchmark as tb; from pathlib import Path; " \
              "print('SPS', tb.clipa_sps(Path(sys.argv[2]), *json.loads(sys.argv[3])))"


def clipa_sps_subprocess(model: str, batch: int, steps: int, threads: int, **env_extra) -> float:
    "clipa_sps in a fresh process with extra environment, e.g. LD_PRELOAD of an allocator or OpenMP thread pinning."
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), **env_extra)
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([sys.executable, '-c', SPS_SNIPPET, str(HERE), d, json.dumps([model, batch, steps, threads])],
                           capture_output=True, text=True, env=env)
    m = re.search(r'SPS ([\d.e+]+)', r.stdout)
    if not m: raise RuntimeError(f'clipa_sps gave no number:\n{(r.stdout + r.stderr)[-3000:]}')
    return float(m.group(1))


def open_clip_sps(tmp: Path, model: str, batch: int, steps: int, threads: int, warm: int = 2, extra=()) -> float:
    "Median per-step samples/s that open_clip_train.main logs for the same model/batch/precision/threads."
    logs = tmp / f'oc-{time.time_ns()}'
    args = ['--dataset-type', 'synthetic', '--train-num-samples', str(batch * (steps + warm)), '--batch-size', str(batch),
            '--model', model, '--epochs', '1', '--workers', '0', '--precision', 'fp32', '--lr', '1e-3', '--warmup', '0',
            '--wd', '0.2', '--beta1', '0.9', '--beta2', '0.95', '--log-every-n-steps', '1', '--save-frequency', '0',
            '--logs', str(logs), '--name', 'bench', '--device', 'cpu', *extra]
    r = subprocess.run([sys.executable, '-c', OC_WRAPPER, str(threads)] + args, capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    sps = [float(x) for x in re.findall(r'Batch \(t\): [\d.]+, ([\d.e+]+)/s,', r.stdout + r.stderr)]
    if len(sps) <= warm: raise RuntimeError(f'open_clip_train gave no timings:\n{(r.stdout + r.stderr)[-3000:]}')
    return float(statistics.median(sps[warm:]))


def matmul_peak(threads: int, sizes=(512, 1024, 2048), reps: int = 10) -> float:
    "fp32 GEMM GFLOP/s (best of square sizes, median of `reps`): this machine's matmul peak for these threads."
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n), torch.randn(n, n)
        for _ in range(2): a @ b
        ts = []
        for _ in range(reps):
            t = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t)
        best = max(best, 2 * n ** 3 / statistics.median(ts) / 1e9)
    return best


def gemm_at(rows: int, k: int, n: int, reps: int = 20) -> float:
    "fp32 GFLOP/s of one [rows, k] x [k, n] GEMM (median of `reps`): what the model's own matmul shapes can reach."
    a, b = torch.randn(rows, k), torch.randn(k, n)
    for _ in range(3): a @ b
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t)
    return 2 * rows * k * n / statistics.median(ts) / 1e9


def compile_lever(model_name: str, batch: int, steps: int, warm: int = 3) -> dict:
    "Steady-state samples/s of one training step (forward, CLIP loss, backward, AdamW) plain and with torch.compile of"
    " the model; compile seconds (first compiled step minus a plain step); largest loss difference over the steps."
    import open_clip
    from clipa.train import build_model, make_optimizer
    from clipa.stage import stage_config, stage_geometry
    out = {}
    for mode in ('plain', 'compile'):
        torch.manual_seed(0)
        cfg = stage_config('pretrain', model=model_name, data='synthetic', batch_size=batch, image_size=64,
                           image_strategy='none', image_keep=1.0, text_strategy='truncate', text_length=32)   # full tokens
        geo = stage_geometry(model_name, 64)
        m = build_model(cfg, geo).train(); opt = make_optimizer(m, cfg); loss_fn = open_clip.ClipLoss()
        fwd = torch.compile(m) if mode == 'compile' else m
        g = torch.Generator().manual_seed(1)
        x = torch.randn(batch, 3, 64, 64, generator=g); t = torch.randint(1, 1000, (batch, geo['text_tokens']), generator=g)
        losses, ts = [], []
        for i in range(warm + steps):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            img, txt, scale = fwd(x, t)[:3]
            loss = loss_fn(img, txt, scale); loss.backward(); opt.step()
            losses.append(loss.item()); ts.append(time.perf_counter() - t0)
        out[mode] = dict(sps=batch / statistics.median(ts[warm:]), first_s=ts[0], losses=losses)
    p, c = out['plain'], out['compile']
    return dict(plain_sps=p['sps'], compile_sps=c['sps'], speedup=c['sps'] / p['sps'], compile_s=c['first_s'] - p['first_s'],
                max_loss_diff=max(abs(a - b) for a, b in zip(p['losses'], c['losses'])))


OP_GROUPS = (('GEMM', ('aten::mm', 'aten::addmm', 'aten::bmm', 'aten::baddbmm', 'aten::linear', 'aten::matmul')),
             ('attention kernels', ('scaled_dot_product', 'flash_attention')),
             ('layout copies', ('aten::copy_', 'aten::contiguous', 'aten::clone', 'aten::cat', 'aten::index')),
             ('GELU', ('gelu',)), ('LayerNorm', ('layer_norm',)), ('fills and zeros', ('aten::fill_', 'aten::zero_')),
             ('optimizer', ('adam', 'foreach')), ('elementwise', ('aten::add', 'aten::mul', 'aten::div', 'aten::sub')),
             ('convolution (patch embed)', ('convolution',)), ('reductions', ('aten::sum', 'aten::norm', 'aten::mean')))


def profile_step(tmp: Path, model: str, batch: int, threads: int, steps: int = 4, warm: int = 2, **kw) -> dict:
    """Where one clipa training step spends its time: wall time of each phase (data hand-off, input, forward, loss,
    backward, clip/optimizer) by perf_counter, and the self-CPU share of each op group by torch.profiler."""
    from torch.profiler import profile, ProfilerActivity
    from clipa.train import StageConfig, setup_run, _model_input, _features, _loss
    from clipa.batches import setup_distributed
    cfg = StageConfig(model=model, data='synthetic', max_samples=max(1024, 2 * batch), image_size=64, batch_size=batch,
                      samples=batch * (steps + warm), threads=threads, save_every=0, progress=False, tensorboard=False,
                      out_dir=str(tmp / f'prof-{model}-{time.time_ns()}'), **kw)
    st = setup_run(cfg, setup_distributed('cpu'))
    phases = {k: [] for k in ('data hand-off', 'input', 'forward', 'loss', 'backward', 'grad norm + AdamW')}
    def one(i, timed):
        t = [time.perf_counter()]
        images, texts = st.batches(i); t.append(time.perf_counter())
        x = _model_input(images, st.geo['image_size']); t.append(time.perf_counter())
        st.opt.zero_grad(set_to_none=True)
        img, txt, scale, bias = _features(st.model(x, texts)); t.append(time.perf_counter())
        loss = _loss(st, img, txt, scale, bias); t.append(time.perf_counter())
        loss.backward(); t.append(time.perf_counter())
        torch.nn.utils.get_total_norm([p.grad for p in st.params if p.grad is not None]); st.opt.step()
        t.append(time.perf_counter())
        if timed:
            for k, a, b in zip(phases, t, t[1:]): phases[k].append(b - a)
    for i in range(warm): one(i, False)
    for i in range(warm, warm + steps): one(i, True)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(2): one(i, False)
    ev = [(e.key, e.self_cpu_time_total) for e in prof.key_averages()]
    tot = sum(v for _, v in ev) or 1.0
    groups = {g: 0.0 for g, _ in OP_GROUPS}; groups['other'] = 0.0
    for k, v in ev:
        g = next((g for g, pats in OP_GROUPS if any(pt in k for pt in pats)), 'other'); groups[g] += v / tot
    step_s = sum(statistics.median(v) for v in phases.values())
    return dict(step_ms=1e3 * step_s, sps=batch / step_s,
                **{f'{k} ms': 1e3 * statistics.median(v) for k, v in phases.items()},
                **{f'{g} %': 100 * v for g, v in groups.items()})


def loader_sps(shards: str, batch: int, n_batches: int, image_size: int = 64) -> dict:
    "samples/s of the data path alone, syntax-reducing every caption: in-memory cold (every caption tagged), in-memory"
    " as the trainer runs after its first epoch (MemoryBatches' token cache filled), and the webdataset stream."
    from types import SimpleNamespace
    from clipa.loaders import load_image_text, stream_image_text, to_model_input
    from clipa.masking import TextReducer
    from clipa.batches import batch_indices, MemoryBatches
    from clipa.stage import stage_config
    ds = load_image_text(shards, image_size=image_size)
    red = TextReducer('syntax', 8, cache_size=0)                      # no caption cache: every batch is tagged
    t = time.perf_counter()
    for s in range(n_batches):
        idx = batch_indices(s, batch, len(ds.captions), 0)
        x = to_model_input(ds.images[idx], image_size); y = red([ds.captions[i] for i in idx.tolist()])
    cold = n_batches * batch / (time.perf_counter() - t)
    mb = MemoryBatches(ds, TextReducer('syntax', 8), stage_config('pretrain', batch_size=batch, text_strategy='syntax', text_length=8),
                       dict(text_tokens=8, image_size=image_size), SimpleNamespace(rank=0, world_size=1, device=torch.device('cpu')))
    n_epoch = -(-len(ds.captions) // batch)
    for s in range(n_epoch): mb(s)                                     # the first epoch fills the token cache
    t = time.perf_counter()
    for s in range(n_epoch, n_epoch + 4 * n_batches):
        imgs, toks = mb(s); x = to_model_input(imgs, image_size)
    warm = 4 * n_batches * batch / (time.perf_counter() - t)
    it = iter(stream_image_text(shards, batch_size=batch, image_size=image_size, shuffle=True, resampled=True))
    next(it)
    t = time.perf_counter()
    for _ in range(n_batches):
        imgs, caps = next(it); x = to_model_input(imgs, image_size); y = red(list(caps))
    return {'memory, cold (every caption tagged)': cold, 'memory, as trained (token cache filled)': warm,
            'stream (every caption tagged)': n_batches * batch / (time.perf_counter() - t)}


def peak_rss_mb(cfg: dict) -> float:
    "Max RSS (MiB) of a fresh process that trains `cfg`."
    r = subprocess.run([sys.executable, '-c', MEM_SNIPPET, json.dumps(cfg)], capture_output=True, text=True)
    m = re.search(r'MAXRSS (\d+)', r.stdout)
    if not m: raise RuntimeError(r.stderr[-3000:])
    return int(m.group(1)) / 1024                     # VmHWM in KiB (ru_maxrss would include the parent's at fork)


def _md(df) -> str:
    "A DataFrame as a markdown table (no tabulate dependency)."
    fmt = lambda v: f'{v:.3g}' if isinstance(v, float) else str(v)
    return '\n'.join(['| ' + ' | '.join(map(str, df.columns)) + ' |', '|' + '---|' * len(df.columns)]
                     + ['| ' + ' | '.join(fmt(v) for v in r) + ' |' for r in df.itertuples(index=False)])


LADDER = ('clipa-l0', 'clipa-l1', 'clipa-l2', 'clipa-l3', 'clipa-l4')   # clipa.model.LADDER


def plot(df: pd.DataFrame, out: Path):
    "train_speedup.png: MFU of both trainers per size and token count; realized speed-up against the FLOP ratio."
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    peak = df[(df.section == 'matmul_peak') & (df.model == '-')].gflops_s.iloc[0]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    v = df[df.section == 'clipa_vs_open_clip']; x = range(len(v))
    axes[0].bar([i - 0.2 for i in x], v.clipa_mfu, 0.4, label='clipa'); axes[0].bar([i + 0.2 for i in x], v.open_clip_mfu, 0.4, label='open_clip_train')
    axes[0].set_xticks(list(x)); axes[0].set_xticklabels([f"{m.replace('clipa-', '')} b{b}\n{'full' if 'full' in c else '¼ img'}" for m, b, c in zip(v.model, v.batch, v.config)], fontsize=7)
    axes[0].set_ylabel(f'MFU (of {peak:.0f} GFLOP/s fp32 GEMM)'); axes[0].legend(fontsize=8)
    axes[0].set_title('64 px, fp32, 2 threads', fontsize=9)
    s = df[df.section == 'strategy_speedup']; x = range(len(s))
    axes[1].bar([i - 0.2 for i in x], s.flop_ratio, 0.4, label='FLOP ratio'); axes[1].bar([i + 0.2 for i in x], s.speedup, 0.4, label='realized speed-up')
    axes[1].set_xticks(list(x)); axes[1].set_xticklabels([f"{m.replace('clipa-', '')} {c}" for m, c in zip(s.model, s.config)], rotation=40, ha='right', fontsize=7); axes[1].set_ylabel('x vs keep 1'); axes[1].legend(fontsize=8)
    axes[1].set_title(f'batch {s.batch.iloc[0]}', fontsize=9); fig.tight_layout()
    fig.savefig(out / 'train_speedup.png', dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='fewer steps and reps (numbers noisier)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--batches', type=int, nargs='+', default=[64, 128], help='batch sizes (the studies train at 64)')
    ap.add_argument('--models', nargs='+', default=list(LADDER))
    ap.add_argument('--out', default=str(HERE))
    ap.add_argument('--replot', action='store_true', help='only redraw train_speedup.png from OUT/train_benchmark.csv')
    a = ap.parse_args(argv)
    if a.replot: return plot(pd.read_csv(Path(a.out) / 'train_benchmark.csv'), Path(a.out))
    steps, batch = (4 if a.quick else 10), a.batches[0]
    torch.set_num_threads(a.threads)
    from clipa.model import train_gflops
    from clipa.shapes import make_shapes
    from clipa.shards import write_shards
    rows, out = [], Path(a.out)
    load0 = os.getloadavg()[0]
    def say(r): rows.append(r); print(r, flush=True)
    peak = matmul_peak(a.threads)
    say(dict(section='matmul_peak', model='-', batch='-', config=f'fp32 GEMM up to 2048x2048, {a.threads} threads', gflops_s=peak))
    from clipa.model import MODEL_CONFIGS
    for model in a.models:                 # the ceiling at the model's own shapes: the MLP's [B*T, W] x [W, 4W] GEMM
        w = MODEL_CONFIGS[model]['vision_cfg']['width']; n_rows = batch * 65
        g = gemm_at(n_rows, w, 4 * w)
        say(dict(section='matmul_peak', model=model, batch=batch, config=f'MLP GEMM [{n_rows}, {w}] x [{w}, {4 * w}]',
                 gflops_s=g, of_peak=g / peak))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        # 1. clipa vs open_clip_train per ladder size, full tokens and 1/4 image tokens, with MFU
        reps = 1 if a.quick else 2                               # alternate the two trainers (load drifts)
        for model, batch in [(m, b) for b in a.batches for m in a.models]:
            for label, ckw, oextra, keep in (('full tokens', {}, (), 1.0),
                                             ('1/4 image tokens', dict(image_strategy='random', image_keep=0.25),
                                              ('--force-patch-dropout', '0.75'), 0.25)):
                cs, os_ = [], []
                for _ in range(reps):
                    cs.append(clipa_sps(tmp, model, batch, steps, a.threads, **ckw))
                    os_.append(open_clip_sps(tmp, model, batch, steps, a.threads, extra=oextra))
                c, o = statistics.median(cs), statistics.median(os_)
                gf = train_gflops(model, image_size=64, image_keep=keep, text_len=32).total
                say(dict(section='clipa_vs_open_clip', model=model, batch=batch, config=f'fp32 64px {label}',
                         gflops_per_pair=gf, clipa_sps=c, open_clip_sps=o, ratio=c / o, clipa_mfu=c * gf / peak,
                         open_clip_mfu=o * gf / peak, goal='ratio >= 1.5; MFU >= 0.6 (largest size)'))
        batch = a.batches[0]
        top = a.models[-2:]                                       # the two largest sizes
        # 2. levers: attention without layout copies (clipa's default) against nn.MultiheadAttention's path
        for model, b in [(m, bb) for bb in a.batches for m in top]:
            on, off = [], []
            for _ in range(reps + 1):
                off.append(clipa_sps(tmp, model, b, steps, a.threads, fast_attention=False))
                on.append(clipa_sps(tmp, model, b, steps, a.threads))
            say(dict(section='lever_fast_attention', model=model, batch=b, config='fast_attention on vs off, full tokens',
                     off_sps=statistics.median(off), on_sps=statistics.median(on),
                     speedup=statistics.median(on) / statistics.median(off)))
        envs = [dict(LD_PRELOAD=lib) for lib in ALLOCATORS if Path(lib).is_file()]      # Debian's libjemalloc2, tcmalloc
        envs.append(dict(OMP_PROC_BIND='close', OMP_PLACES='cores'))                     # thread pinning
        for extra in envs:
            for model in top:
                base, pre = [], []
                for _ in range(reps):
                    base.append(clipa_sps_subprocess(model, batch, steps, a.threads))
                    pre.append(clipa_sps_subprocess(model, batch, steps, a.threads, **extra))
                label = ' '.join(f'{k}={Path(v).name if k == "LD_PRELOAD" else v}' for k, v in extra.items())
                say(dict(section='lever_environment', model=model, batch=batch, config=label,
                         off_sps=statistics.median(base), on_sps=statistics.median(pre),
                         speedup=statistics.median(pre) / statistics.median(base)))
        # 3. where the time goes: phases and op groups of the two largest sizes, full and 1/4 image tokens
        for model in top:
            for label, kw in (('full tokens', {}), ('resize 1/4', dict(image_strategy='resize', image_keep=0.25)),
                              ('random 1/4', dict(image_strategy='random', image_keep=0.25))):
                say(dict(section='profile', model=model, batch=batch, config=label,
                         **profile_step(tmp, model, batch, a.threads, **kw)))
        for model in top:
            say(dict(section='lever_torch_compile', model=model, batch=batch, config='torch.compile(model), inductor, full tokens',
                     **compile_lever(model, batch, steps)))
        # 4. image strategies at keep 1/2 and 1/4 against the FLOP ratio, at the two largest sizes
        for model, strat in [(m, s_) for m in top for s_ in ('resize', 'random', 'grid', 'block')]:
            base_fl = train_gflops(model, image_size=64, image_keep=1.0, text_len=32).total
            for keep in (0.5, 0.25):
                if strat == 'resize' and keep == 0.5: continue      # 32 of 64 patches is not a square grid
                # paired: the keep-1 baseline is measured right before each config (other jobs' load drifts)
                base_sps = clipa_sps(tmp, model, batch, steps, a.threads)
                sps = clipa_sps(tmp, model, batch, steps, a.threads, image_strategy=strat, image_keep=keep)
                size = 64 if strat != 'resize' else {0.25: 32}[keep]
                fl = train_gflops(model, image_size=size, image_keep=keep if strat != 'resize' else 1.0, text_len=32).total
                say(dict(section='strategy_speedup', model=model, batch=batch, config=f'{strat} keep {keep}',
                         clipa_sps=sps, base_sps=base_sps, speedup=sps / base_sps, flop_ratio=base_fl / fl,
                         ratio=(sps / base_sps) / (base_fl / fl), goal='>= 0.9'))
        # 5. data path alone vs the trainer's fastest consumption measured above
        shards = tmp / 'shapes'
        write_shards(make_shapes(2048, seed=0, image_size=64), shards, samples_per_shard=256)
        fastest = max(r['clipa_sps'] for r in rows if 'clipa_sps' in r)
        for k, v in loader_sps(str(shards), batch, 8 if a.quick else 16).items():
            say(dict(section='loader_vs_trainer', model='-', batch=batch, config=f'{k}; syntax 8 tokens',
                     loader_sps=v, consumer_sps=fastest, ratio=v / fastest, goal='>= 3'))
        # 6. peak memory per size
        for model, batch in [(m, b) for b in a.batches for m in a.models]:
            cfg = dict(model=model, data='synthetic', max_samples=256, image_size=64, batch_size=batch, samples=256,
                       threads=a.threads, save_every=0, progress=False, tensorboard=False, out_dir=str(tmp / f'mem-{model}-{batch}'))
            say(dict(section='peak_memory', model=model, batch=batch, config='full tokens', peak_rss_mib=peak_rss_mb(cfg)))
    meta = dict(load_avg_start=load0, load_avg_end=os.getloadavg()[0], cpus=os.cpu_count(), threads=a.threads,
                torch=torch.__version__, steps=steps, omp_wait_policy=os.environ.get('OMP_WAIT_POLICY', '(unset)'))
    write_report(rows, meta, out)


def write_report(rows: list, meta: dict, out: Path):
    "train_benchmark.{csv,md} and train_speedup.png from the measured rows (also from a crashed run's printed rows)."
    df = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / 'train_benchmark.csv', index=False)
    md = ['# Training benchmark (CPU)', '', f'Machine: {meta}', '']
    for sec, g in df.groupby('section', sort=False):
        md += [f'## {sec}', '', _md(g.dropna(axis=1, how='all').drop(columns='section')), '']
    (out / 'train_benchmark.md').write_text('\n'.join(md))
    plot(df, out)
    print('\n'.join(md))


if __name__ == '__main__': main()
