"""End-to-end tests of `clipa-fit` (python -m clipa.scaling) on a user-brought CSV and of the papermill
figures notebook (nbs/experiments/figures.ipynb). Unit tests live in nbs/18_scaling.ipynb and nbs/24_plots.ipynb."""
import json, os, subprocess, sys
from pathlib import Path
import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
TRUE_ALPHA = {'LAION-80M': -0.10, 'LAION-400M': -0.12, 'LAION-2B': -0.15}


def published_table(path):
    "A CSV shaped like a published scaling table (Cherti et al.-style): several data sets and downstream tasks."
    rng = np.random.default_rng(0)
    rows = []
    for data, alpha in TRUE_ALPHA.items():
        for arch, gf in [('ViT-B-32', 4.4), ('ViT-B-16', 17.5), ('ViT-L-14', 81.1)]:
            for samples in [3e9, 13e9, 34e9]:
                for _ in range(4):
                    c = gf * 3 * samples * rng.uniform(0.3, 1.0)
                    err = 0.9 * (c / 1e9) ** alpha * np.exp(rng.normal(0, 0.01))
                    rows.append(dict(arch=arch, pretrain_data=data, samples_seen=samples, gflops_total=c,
                                     downstream_dataset='imagenet1k', acc1=1 - err))
                    rows.append(dict(arch=arch, pretrain_data=data, samples_seen=samples, gflops_total=c,
                                     downstream_dataset='cifar100', acc1=1 - 0.5 * err))
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def run_fit(*args, cwd):
    "Run `clipa-fit` as a user does (the console script: its exit status is main's return)."
    cli = Path(sys.executable).parent / 'clipa-fit'
    cmd = [str(cli)] if cli.exists() else [sys.executable, '-m', 'clipa.scaling']
    return subprocess.run([*cmd, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env={**os.environ, 'MPLBACKEND': 'Agg'})


def test_clipa_fit_on_published_table(tmp_path):
    csv = published_table(tmp_path / 'published.csv')
    r = run_fit(csv, '--compute', 'gflops_total', '--metric', 'acc1', '--error', '--group', 'pretrain_data',
                '--filter', 'downstream_dataset=imagenet1k', '--n-boot', '300', '--out', tmp_path / 'fit', cwd=ROOT)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    header = lines[0].split()
    assert header == ['group', 'n_runs', 'n_frontier', 'alpha', 'alpha_lo', 'alpha_hi', 'beta', 'mae']
    rows = {l.split()[0]: l.split() for l in lines[1:4]}
    assert sorted(rows) == sorted(TRUE_ALPHA)
    for g, row in rows.items():
        n_runs, n_frontier, alpha, lo, hi = int(row[1]), int(row[2]), *map(float, row[3:6])
        assert n_runs == 36 and n_frontier == 5
        assert abs(alpha - TRUE_ALPHA[g]) < 0.02, (g, alpha)
        assert lo <= alpha <= hi
    out = tmp_path / 'fit'
    assert sorted(os.listdir(out)) == ['fit.csv', 'fit.png', 'fit_runs.csv']
    table = pd.read_csv(out / 'fit.csv')
    assert table.group.tolist() == sorted(TRUE_ALPHA)
    runs = pd.read_csv(out / 'fit_runs.csv')
    assert set(runs.downstream_dataset) == {'imagenet1k'} and runs.on_frontier.sum() == 15
    assert (out / 'fit.png').stat().st_size > 10_000


def test_clipa_fit_bad_input_one_clear_error(tmp_path):
    csv = published_table(tmp_path / 'published.csv')
    r = run_fit(csv, '--compute', 'gflops', '--metric', 'acc1', cwd=ROOT)
    assert r.returncode == 2
    err = r.stderr.strip().splitlines()[-1]
    assert err.startswith('clipa-fit: error:') and "['gflops']" in err and 'gflops_total' in err
    pd.read_csv(csv).assign(acc1=lambda d: d.acc1 * 100).to_csv(tmp_path / 'pct.csv', index=False)
    r = run_fit(tmp_path / 'pct.csv', '--compute', 'gflops_total', '--metric', 'acc1', '--error', cwd=ROOT)
    assert r.returncode == 2 and 'in [0, 1]' in r.stderr
    r = run_fit(csv, '--compute', 'gflops_total', '--metric', 'acc1', '--error', '--bins', '2', cwd=ROOT)
    assert r.returncode == 2 and 'only 2 Pareto-frontier point(s)' in r.stderr


def test_figures_notebook_papermill(tmp_path):
    pm = pytest.importorskip('papermill')
    sys.path.insert(0, str(ROOT))
    from clipa.plots import synthetic_sweep
    synthetic_sweep(seed=3).to_csv(tmp_path / 'sweep.csv', index=False)
    out = tmp_path / 'figs'
    pm.execute_notebook(str(ROOT / 'nbs/experiments/figures.ipynb'), str(tmp_path / 'figures.out.ipynb'),
                        parameters=dict(results_csv=str(tmp_path / '*.csv'), out_dir=str(out), n_boot=100),
                        kernel_name='python3', cwd=str(tmp_path), progress_bar=False)
    names = ['image_tokens', 'text_tokens', 'image_strategies', 'text_strategies', 'compute', 'samples_seen', 'fits']
    for n in names:
        assert (out / f'{n}.png').stat().st_size > 10_000, n
        assert len(pd.read_csv(out / f'{n}.csv')) > 0, n
    table = pd.read_csv(out / 'fit_table.csv')
    assert table.group.tolist() == ['clipa-base', 'clipa-small', 'clipa-tiny', 'all']
    assert (table.alpha < 0).all() and (table.alpha_lo <= table.alpha).all() and (table.alpha <= table.alpha_hi).all()


def test_figures_notebook_openclip_style(tmp_path):
    "Per-task compute panels and samples-seen rows, a `where` filter, and the precision figure from run folders."
    pm = pytest.importorskip('papermill')
    sys.path.insert(0, str(ROOT))
    from clipa.plots import synthetic_sweep, select_sweep
    runs = select_sweep(synthetic_sweep(seed=4), 'data').reset_index(drop=True)
    runs = runs.assign(run=[f'r{i}' for i in range(len(runs))], precision='fp32',
                       colour_acc1=1 - (1 - runs.shape_acc1) / 2)
    base = runs.iloc[[0]]
    prec = pd.concat([base.assign(run=f'p_{p}', precision=p, shape_acc1=0.01) for p in ('amp', 'amp_bf16')])
    pd.concat([runs, prec]).to_csv(tmp_path / 'results.csv', index=False)
    for r, spikes in (('r0', []), ('p_amp', [7, 12]), ('p_amp_bf16', [])):
        d = tmp_path / r / 'pretrain'; d.mkdir(parents=True)
        steps = [dict(step=i, samples_seen=64 * i, loss=float(l), samples_per_s=100.0)
                 for i, l in zip(range(1, 21), np.linspace(4, 1, 20))]
        (d / 'log.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in steps)
                                     + ''.join(f'{{"event": "loss_spike", "step": {s}}}\n' for s in spikes))
    out = tmp_path / 'figs'
    pm.execute_notebook(str(ROOT / 'nbs/experiments/figures.ipynb'), str(tmp_path / 'figures.out.ipynb'),
                        parameters=dict(results_csv=str(tmp_path / 'results.csv'), out_dir=str(out), n_boot=50,
                                        metrics=['colour_acc1'], where={'precision': 'fp32'}, group=''),
                        kernel_name='python3', cwd=str(tmp_path), progress_bar=False)
    for n in ('compute', 'compute_tasks', 'samples_seen_tasks', 'precision'):
        assert (out / f'{n}.png').stat().st_size > 10_000, n
    tasks = pd.read_csv(out / 'compute_tasks.csv')
    assert sorted(tasks.metric.unique()) == ['colour_acc1', 'shape_acc1']
    assert set(tasks.precision) == {'fp32'} and len(tasks) == 2 * len(runs)       # `where` dropped the amp runs
    p = pd.read_csv(out / 'precision.csv').set_index('precision')
    assert p.loss_spikes.to_dict() == {'fp32': 0, 'amp': 2, 'amp_bf16': 0}


def test_scaling_laws_notebook_known_answer(tmp_path):
    "The per-task laws stage (nbs/experiments/scaling_laws.ipynb) alone: its constructed grid has one task on a power"
    "law (exponent -0.12, with a data bottleneck) and one that does not depend on compute."
    pm = pytest.importorskip('papermill')
    out = tmp_path / 'laws'
    pm.execute_notebook(str(ROOT / 'nbs/experiments/scaling_laws.ipynb'), str(tmp_path / 'laws.out.ipynb'),
                        parameters=dict(out_dir=str(out), n_boot=200), kernel_name='python3', cwd=str(tmp_path),
                        progress_bar=False)
    laws = pd.read_csv(out / 'laws.csv').set_index('metric')
    law, flat = laws.loc['concept_acc1'], laws.loc['retrieval_image_retrieval_recall@5']
    assert law.verdict == 'improves with compute' and -0.13 < law.alpha < -0.10 and law.alpha_lo < law.alpha < law.alpha_hi
    assert law.cherti_alpha == -0.11 and flat.cherti_alpha == -0.08
    assert flat.verdict == 'inconclusive' and flat.alpha_lo < 0 < flat.alpha_hi
    b = pd.read_csv(out / 'bottleneck.csv')
    small = b[(b.metric == 'concept_acc1') & (b.axis == 'samples seen')].set_index(['model', 'held_at'])
    assert (small.gain.xs(3000, level='held_at') < small.gain.xs(135000, level='held_at')).all()   # the data bottleneck
    assert (small.gain_lo < small.gain).all() and (small.gain < small.gain_hi).all() and (small.n_from == 2).all()
    for f in ('compute_tasks', 'bottleneck'):
        assert (out / f'{f}.png').stat().st_size > 10_000 and len(pd.read_csv(out / f'{f}.csv')) > 0
    ladder = pd.read_csv(out / 'laws_by_ladder.csv').set_index(['models', 'metric'])    # the law on the growing ladder
    assert sorted(ladder.index.get_level_values('models').unique()) == ['s + m', 's + m + l']   # ordered by params
    assert ladder.loc[('s + m', 'concept_acc1')].n_points == 18                            # only the two smaller models' points
    assert ladder.loc[('s + m', 'concept_acc1')].verdict == 'improves with compute'
    assert ladder.loc[('s + m', 'retrieval_image_retrieval_recall@5')].verdict == 'inconclusive'
