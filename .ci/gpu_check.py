"""The GPU check (run by .ci/gpu_check.sh when a CUDA GPU is present): clipa against open_clip_train, side by side, on
ViT-B-16 with amp_bf16 and synthetic data, at full tokens and at 1/4 image tokens; then a short shapes study on the GPU.
Writes reports/benchmarks/gpu_check.md. Each measurement that fails is reported as failed; the others still run."""
import argparse, json, re, statistics, subprocess, sys, tempfile, time, traceback
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

def peak_tflops(name: str) -> float | None:
    from clipa.gpu_cost import gpu_peak
    for key in ('H200', 'H100', 'A100', 'L4', 'A10G', 'A10', '4090', 'V100'):
        if key in name.upper():
            key = 'H100-PCIe' if key == 'H100' and 'PCIE' in name.upper() else {'4090': 'RTX4090'}.get(key, key)
            try: return gpu_peak(key, 'bf16')
            except Exception: return None
    return None

def clipa_run(out, steps, batch, strategy, keep, image_size):
    "clipa's engine in this process: samples/s after the first steps, peak memory."
    from clipa.train import train
    from clipa.stage import StageConfig
    torch.cuda.reset_peak_memory_stats()
    cfg = StageConfig(model='ViT-B-16', data='synthetic', batch_size=batch, samples=batch * steps, precision='amp_bf16',
                      image_strategy=strategy, image_keep=keep, image_size=image_size, text_length=77, lr=1e-4,
                      out_dir=str(out), save_every=0, progress=False, tensorboard=False, log_every=10, device='cuda')
    s = train(cfg)
    return dict(samples_per_s=s['samples_per_s'], peak_gib=torch.cuda.max_memory_allocated() / 2**30)

def openclip_run(out, steps, batch, image_size, patch_dropout):
    "open_clip_train.main in this process on its synthetic data set; samples/s from its log (median of the later lines)."
    from open_clip_train.main import main as oc_main
    torch.cuda.reset_peak_memory_stats()
    args = ['--model', 'ViT-B-16', '--dataset-type', 'synthetic', '--train-num-samples', str(batch * steps),
            '--batch-size', str(batch), '--epochs', '1', '--precision', 'amp_bf16', '--lr', '1e-4', '--warmup', '0',
            '--workers', '2', '--log-every-n-steps', '5', '--logs', str(out), '--name', 'oc', '--save-frequency', '0',
            '--force-image-size', str(image_size), '--report-to', '']
    if patch_dropout: args += ['--force-patch-dropout', str(patch_dropout)]
    oc_main(args)
    text = (Path(out) / 'oc' / 'out.log').read_text()
    rates = [float(m) for m in re.findall(r'([\d.]+)/s/gpu', text)]
    if not rates: raise RuntimeError('no throughput lines in open_clip_train log')
    return dict(samples_per_s=statistics.median(rates[len(rates) // 2:]), peak_gib=torch.cuda.max_memory_allocated() / 2**30)

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--steps', type=int, default=60); ap.add_argument('--batch-size', type=int, default=256)
    ap.add_argument('--out', default=str(ROOT / 'reports' / 'benchmarks' / 'gpu_check.md')); ap.add_argument('--no-study', action='store_true')
    a = ap.parse_args()
    from clipa.model import train_gflops
    from clipa.core import provenance, provenance_line
    name = torch.cuda.get_device_name(0); peak = peak_tflops(name)
    rows, tmp = [], Path(tempfile.mkdtemp(prefix='gpu_check-'))
    cases = [('full tokens', 'none', 1.0, 224, 0.0), ('resize 1/4 (112 px)', 'resize', 0.25, 112, 0.0),
             ('random 1/4', 'random', 0.25, 224, 0.75)]
    for label, strategy, keep, size, pd in cases:
        g = float(train_gflops('ViT-B-16', image_size=size, image_keep=1.0 if strategy == 'resize' else keep, text_len=77))
        for tool, fn in (('clipa', lambda: clipa_run(tmp / f'clipa_{strategy}', a.steps, a.batch_size, strategy, keep, 224 if strategy != 'resize' else size)),
                         ('open_clip_train', lambda: openclip_run(tmp / f'oc_{strategy}', a.steps, a.batch_size, size, pd))):
            t0 = time.time()
            try:
                r = fn(); mfu = r['samples_per_s'] * g * 1e9 / (peak * 1e12) if peak else None
                rows.append((label, tool, f"{r['samples_per_s']:,.0f}", f'{mfu:.2f}' if mfu else 'n/a', f"{r['peak_gib']:.1f}", f'{time.time() - t0:.0f}'))
            except Exception as e:
                traceback.print_exc(); rows.append((label, tool, 'failed', '', '', f'{type(e).__name__}: {str(e)[:120]}'))
            print(' | '.join(rows[-1]), flush=True)
    study = 'not run (--no-study)'
    if not a.no_study:
        t0 = time.time()
        p = subprocess.run([sys.executable, '-m', 'clipa.study', 'default', '--reports', str(tmp / 'runs')], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
        study = (f"`clipa-study default` on the GPU: exit status {p.returncode} in {time.time() - t0:.0f} s; "
                 + (p.stdout.strip().splitlines() or ['(no output)'])[-1])
    md = [f'# GPU check ({time.strftime("%Y-%m-%d")})', '', f'{name}; bf16 dense peak {peak or "unknown"} TFLOP/s; '
          f'ViT-B-16, amp_bf16, synthetic data, global batch {a.batch_size}, {a.steps} steps each. {provenance_line(provenance())}', '',
          'MFU = samples/s × counted training GFLOPs per pair (clipa.model.train_gflops) / dense peak.', '',
          '| tokens | trainer | samples/s | MFU | peak memory (GiB) | wall s / note |', '|---|---|---|---|---|---|']
    md += ['| ' + ' | '.join(r) + ' |' for r in rows] + ['', study, '']
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text('\n'.join(md))
    print(f'gpu_check: wrote {a.out}')

if __name__ == '__main__': main()
