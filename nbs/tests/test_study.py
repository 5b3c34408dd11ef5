"""clipa.study from the command line: dry runs (a stand-in study, every shipped study), a tiny real study through the
real stage notebooks (pretrain -> finetune -> evaluate -> figures) resumed on a second call, one killed mid-stage and
resumed, the one-run report notebook on the committed record, and the README's main job (`clipa-study default`,
about 3 minutes) with its results checked against chance."""
import json, os, subprocess, sys
from pathlib import Path
import pytest, yaml
from clipa.train import log_file

ROOT = Path(__file__).resolve().parents[2]
EXP = ROOT / 'nbs' / 'experiments'
SHIPPED = ('default', 'emoji', 'clipa_paper', 'inverse_scaling_sweep', 'openclip_scaling')
STAGES = ('pretrain', 'finetune', 'evaluate', 'figures', 'run_report')
RECORD = ROOT / 'reports' / 'default' / 'main'      # the committed record of the default study's one run


def _env():
    env = dict(os.environ, MPLBACKEND='Agg', PYTHONWARNINGS='ignore')
    env['PATH'] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    if (ROOT.parent / 'shared' / 'nltk_data').is_dir(): env.setdefault('NLTK_DATA', str(ROOT.parent / 'shared' / 'nltk_data'))
    return env


def _study(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, '-m', 'clipa.study', *map(str, args)], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _stand_in(path, params, body):
    nb = dict(cells=[dict(cell_type='code', metadata={'tags': ['parameters']}, source=params, outputs=[], execution_count=None),
                     dict(cell_type='code', metadata={}, source=body, outputs=[], execution_count=None)],
              metadata=dict(kernelspec=dict(name='python3', display_name='Python 3', language='python')),
              nbformat=4, nbformat_minor=4)
    path.write_text(json.dumps(nb))


def test_dry_run_stand_in(tmp_path):
    _stand_in(tmp_path / 'step.ipynb', "out_dir = 'o'\nmodel = 'm'\nsamples = 0\nimage_keep = 1.0\ncheckpoint = None",
              "raise RuntimeError('a dry run must not execute anything')")
    (tmp_path / 'mini.yaml').write_text(yaml.safe_dump(dict(
        name='mini', defaults=dict(model='m'), grid=dict(image_keep=[0.5, 0.25]),
        stages=[dict(name='train', notebook='step', parameters=dict(samples=100)),
                dict(name='eval', notebook='step', checkpoint_from='train')])))
    r = _study(tmp_path / 'mini.yaml', '--dry-run', '--reports', tmp_path / 'reports', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "study 'mini': 2 run(s) × 2 stage(s)" in r.stdout
    assert 'run k0.5' in r.stdout and 'run k0.25' in r.stdout and '100 samples' in r.stdout
    assert 'checkpoint=' + str(tmp_path / 'reports/mini/k0.5/train/checkpoints/final.pt') in r.stdout
    assert not (tmp_path / 'reports' / 'mini' / 'k0.5').exists()


def test_bad_study_exit_code(tmp_path):
    (tmp_path / 'bad.yaml').write_text('name: bad\nstagse: []\n')
    r = _study(tmp_path / 'bad.yaml', '--dry-run', cwd=tmp_path)
    assert r.returncode == 2 and "unknown key 'stagse'" in r.stderr and 'Traceback' not in r.stderr


needs_stages = pytest.mark.skipif(not all((EXP / f'{s}.ipynb').is_file() for s in STAGES),
                                  reason='the stage notebooks nbs/experiments/{pretrain,finetune,evaluate,figures,run_report} are not all there yet')


@needs_stages
@pytest.mark.parametrize('name', SHIPPED)
def test_shipped_study_dry_run(name, tmp_path, capsys, monkeypatch):
    "Every shipped study validates against the real notebooks and dry-runs (in-process: one torch import, shared GFLOPs cache)."
    from clipa.study import main
    monkeypatch.chdir(ROOT)
    main([name, '--dry-run', '--reports', str(tmp_path)])
    out = capsys.readouterr().out
    assert f"study '{name}'" in out and 'total estimated training compute' in out
    assert 'compute n/a' not in out, out        # every training stage's GFLOPs could be counted
    assert not any(tmp_path.iterdir())            # nothing was run or written


@needs_stages
def test_stage_schema():
    """One stage schema: the training-stage notebooks declare only `preset`, `out_dir` (and `init_checkpoint`), all
    StageConfig fields; every key a shipped study gives a training stage (its own, shared defaults, grid axes) is a field."""
    from dataclasses import fields
    from clipa.stage import StageConfig, PRESETS
    from clipa.studyfile import load_study, _declared_params; from clipa.plan import _takes
    names = {f.name for f in fields(StageConfig)}
    for nb in ('pretrain', 'finetune'):
        src = json.loads((EXP / f'{nb}.ipynb').read_text())
        cell = next(c for c in src['cells'] if 'parameters' in c['metadata'].get('tags', []))
        declared = [l.split('=')[0].strip() for l in ''.join(cell['source']).splitlines() if '=' in l]
        assert declared[0] == 'preset' and set(declared[1:]) <= names, declared      # no default but the preset's
        assert set(_declared_params(EXP / f'{nb}.ipynb')) == names | {'preset'}
    assert set(PRESETS) == {'pretrain', 'finetune'}
    from clipa.plan import plan  # a study that passes another preset: what the stage really runs
    st = plan(load_study(dict(name='p', defaults=dict(model='clipa-tiny'), stages=[dict(name='ft', notebook='pretrain',
              parameters=dict(preset='finetune', samples=64))]), base=ROOT / 'nbs' / 'studies'))[0].stages[0]
    assert (st.effective['image_strategy'], st.effective['text_strategy'], st.effective['lr']) == ('none', 'truncate', 3e-4)
    for name in SHIPPED:
        study = load_study(name)
        for st in study.stages:
            if 'preset' not in st.declared: continue
            given = set(st.parameters) | {k for k in study.defaults if _takes(st, k)} | set(st.links)
            given |= {a.rpartition('.')[2] for g in study.grid for a in g if a.partition('.')[0] in (st.name, a)}
            assert given <= names, (name, st.name, given - names)


@needs_stages
def test_shipped_study_plans():
    from clipa.plan import plan
    test = {r.name: r for r in plan('inverse_scaling_sweep')}
    assert len(test) == 4 * (1 + 4 * 2 + 2 * 2)
    assert {'clipa-micro_none_k1_truncate_L32', 'clipa-tiny_grid_k0.25_truncate_L32', 'clipa-base_none_k1_syntax_L8'} <= set(test)
    ft = test['clipa-small_block_k0.5_truncate_L32'].stages[1].parameters
    assert ft['image_strategy'] == 'none' and ft['init_checkpoint'].endswith('clipa-small_block_k0.5_truncate_L32/pretrain/checkpoints/final.pt')
    runs = plan('openclip_scaling')                  # icons: (2 x 9 + 3 + 4 + 1) grid points x 2 seeds
    assert len(runs) == 52 and runs[0].stages[1].parameters.get('max_samples') is None   # evaluate keeps all images
    assert [r.name for r in runs[-2:]] == ['clipa-l3_nall_s300k_seed0', 'clipa-l3_nall_s300k_seed1']   # l3's frontier end
    pre = [r.stages[0].parameters for r in runs]
    assert [(p['max_samples'], p['samples'], p['seed']) for p in pre[:3]] == [(3000, 10000, 0), (3000, 10000, 1), (3000, 30000, 0)]
    assert {p['model'] for p in pre} == {'clipa-l1', 'clipa-l2', 'clipa-l3'} and {p['data'] for p in pre} == {'icons'}


@needs_stages
def test_tiny_real_study(tmp_path):
    "A tiny study through the real notebooks: pretrain (reduced tokens) -> finetune -> evaluate -> figures; then resume."
    study = dict(
        name='tiny', dataset='shapes',
        defaults=dict(model='clipa-tiny', data='shapes', max_samples=128, image_size=32, batch_size=32, seed=0, threads=1),
        stages=[dict(name='pretrain', notebook='pretrain',
                     parameters=dict(image_strategy='grid', image_keep=0.25, text_strategy='truncate', text_length=8,
                                     samples=64, warmup=0, lr=1e-3)),
                dict(name='finetune', notebook='finetune', init_from='pretrain',
                     parameters=dict(image_strategy='none', image_keep=1.0, text_strategy='truncate', text_length=32,
                                     samples=32, warmup=0)),
                dict(name='evaluate', notebook='evaluate', checkpoint_from='finetune',
                     parameters=dict(tasks='zeroshot_classification', max_samples=64, image_size=None))],
        after=[dict(name='figures', notebook='figures', parameters=dict(metric='shape_acc1', group='', n_boot=10))])
    f = tmp_path / 'tiny.yaml'; f.write_text(yaml.safe_dump(study, sort_keys=False))
    reports = tmp_path / 'reports'
    r = _study(f, '--reports', reports, timeout=600)
    run = reports / 'tiny' / 'main'
    st = json.loads((run / 'status.json').read_text())['stages']
    assert [st[s]['status'] for s in ('pretrain', 'finetune', 'evaluate')] == ['completed'] * 3, (r.stdout, r.stderr)
    assert (run / 'pretrain.ipynb').is_file() and (run / 'finetune' / 'checkpoints' / 'final.pt').is_file()
    import pandas as pd
    df = pd.read_csv(reports / 'tiny' / 'results.csv')
    assert len(df) == 1 and {'gflops', 'image_tokens', 'shape_acc1', 'colour_acc1'} <= set(df.columns), df.columns
    assert df.gflops[0] > 0 and 0 <= df.shape_acc1[0] <= 1
    md = (reports / 'tiny' / 'summary.md').read_text()
    assert 'shape_acc1' in md and 'FLOP' in md
    mt = (run / 'pretrain.ipynb').stat().st_mtime
    r2 = _study(f, '--reports', reports, timeout=300)       # resume: the completed run stages are not run again
    assert '▶ main/' not in r2.stderr, r2.stderr
    assert (run / 'pretrain.ipynb').stat().st_mtime == mt
    fig = json.loads((reports / 'tiny' / 'status.json').read_text())['stages']['figures']
    assert (reports / 'tiny' / 'figures.ipynb').is_file()
    if fig['status'] != 'completed':   # the figures notebook's business, reported here so it stays visible
        pytest.xfail(f"figures stage on a one-run study: {fig['error']}")
    assert '0 stage(s) executed' in r2.stderr, r2.stderr


@needs_stages
def test_sweep_notebook_dry_run(tmp_path):
    "The sweep stage notebook through papermill: plans a shipped study (dry run) and ends with the plan table."
    out = tmp_path / 'sweep.ipynb'
    r = subprocess.run([str(ROOT / '.venv' / 'bin' / 'papermill'), str(EXP / 'sweep.ipynb'), str(out), '-k', 'python3',
                        '--cwd', str(ROOT), '-p', 'study', 'inverse_scaling_sweep', '-p', 'reports', str(tmp_path / 'r')],
                       env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    text = ''.join(''.join(o.get('text', '')) for c in json.loads(out.read_text())['cells'] for o in c.get('outputs', []))
    assert 'inverse_scaling_sweep: 52 runs' in text, text[:2000]
    assert not (tmp_path / 'r').exists()


@needs_stages
def test_run_report_notebook(tmp_path):
    "The one-run report (papermill) on a copy of the committed default record: its three figures, their CSVs, the table."
    import shutil
    import pandas as pd
    run, out = tmp_path / 'main', tmp_path / 'report'
    for s in ('pretrain', 'finetune'):
        (run / s).mkdir(parents=True); shutil.copy(log_file(RECORD / s), run / s)
    shutil.copytree(RECORD / 'evaluate' / 'results', run / 'evaluate' / 'results')
    f = next((run / 'evaluate' / 'results').glob('*shapes_count__zeroshot_classification.json'))
    rec = json.loads(f.read_text())       # a record written before clipa.evaluate kept per-class numbers gets some
    rec.setdefault('per_class', dict(classnames=['one', 'two', 'three'], recall=[0.7, 0.1, 0.4], n=[317, 336, 347]))
    f.write_text(json.dumps(rec))
    r = subprocess.run([str(ROOT / '.venv' / 'bin' / 'papermill'), str(EXP / 'run_report.ipynb'),
                        str(tmp_path / 'run_report.ipynb'), '-k', 'python3', '--cwd', str(ROOT),
                        '-p', 'run_dir', str(run), '-p', 'out_dir', str(out)],
                       env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ('training_loss', 'zero_shot_vs_chance', 'per_class_recall'):
        assert (out / f'{name}.png').stat().st_size > 10_000 and (out / f'{name}.csv').is_file(), name
    curves = pd.read_csv(out / 'training_loss.csv')
    assert list(dict.fromkeys(curves.stage)) == ['pretrain', 'finetune'] and curves.pairs_seen.is_monotonic_increasing
    pc = pd.read_csv(out / 'per_class_recall.csv')
    assert 'shapes/count' in set(pc.dataset) and all(g.recall.is_monotonic_decreasing for _, g in pc.groupby('dataset'))
    zs = pd.read_csv(out / 'summary.csv').query("metric == 'acc1'").set_index('dataset')
    for p in (run / 'evaluate' / 'results').glob('*zeroshot_classification.json'):     # rounded to 0.1 %
        rec = json.loads(p.read_text()); got, c = zs.loc[rec['dataset']], rec['chance']
        assert abs(got['value (%)'] - 100 * c['acc1']) < 0.06, (got, c)
        assert abs(got['image-blind baseline (%)'] - 100 * c['baseline']) < 0.06, (got, c)


@needs_stages
def test_killed_study_resumes(tmp_path):
    "SIGKILL the runner and its kernel mid-pretrain; a second call takes over the stale lock and finishes the study."
    import signal, time
    study = dict(
        name='killed', dataset='shapes',
        defaults=dict(model='clipa-tiny', data='shapes', max_samples=512, image_size=64, batch_size=32, seed=0, threads=1),
        stages=[dict(name='pretrain', notebook='pretrain',
                     parameters=dict(image_strategy='none', image_keep=1.0, text_strategy='truncate', text_length=32,
                                     samples=32 * 120, warmup=0, lr=1e-3, save_every=5, log_every=5)),
                dict(name='evaluate', notebook='evaluate', checkpoint_from='pretrain',
                     parameters=dict(tasks='zeroshot_classification', max_samples=64, image_size=None))])
    f = tmp_path / 'killed.yaml'; f.write_text(yaml.safe_dump(study, sort_keys=False))
    reports = tmp_path / 'reports'; pre = reports / 'killed' / 'main' / 'pretrain'
    p = subprocess.Popen([sys.executable, '-m', 'clipa.study', str(f), '--reports', str(reports)], cwd=ROOT, env=_env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    t0, step = time.time(), 0
    try:
        while time.time() - t0 < 300 and p.poll() is None:      # wait for a checkpoint some steps in, then kill
            log = pre / 'log.jsonl'
            if (pre / 'checkpoints' / 'latest.pt').exists() and log.exists():
                lines = [l for l in log.read_text().splitlines() if l.strip()]
                try: step = json.loads(lines[-1]).get('step', 0) if lines else 0
                except json.JSONDecodeError: pass                       # a line being written
                if step >= 12: break
            time.sleep(0.2)
    finally:
        os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert 12 <= step < 120, f'the pretrain stage was not caught mid-run (step {step}, exit {p.returncode})'
    assert not (pre / 'summary.json').exists()
    st = json.loads((reports / 'killed' / 'main' / 'status.json').read_text())['stages']
    assert st['pretrain']['status'] == 'running', st                 # what a crash leaves behind
    assert (reports / 'killed' / '.lock').exists()
    r = _study(f, '--reports', reports, timeout=600)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    assert 'interrupted before' in r.stderr, r.stderr[-2000:]
    st = json.loads((reports / 'killed' / 'main' / 'status.json').read_text())['stages']
    assert [st[s]['status'] for s in ('pretrain', 'evaluate')] == ['completed'] * 2, st
    summary = json.loads((pre / 'summary.json').read_text())
    assert summary['resumed_from_step'] >= 5 and summary['steps'] == 120, summary   # resumed from its checkpoint
    assert not (reports / 'killed' / '.lock').exists()


@needs_stages
def test_default_study(tmp_path):
    "The main job completes, beats the image-blind baseline on shape and colour, writes its report, then resumes."
    reports = tmp_path / 'reports'
    r = _study('default', '--reports', reports, '--compare', ROOT / 'reports', timeout=1500)   # ~3 min on 2 cores
    assert r.returncode == 0 or (r.returncode == 3 and "arithmetic is not the record's" in r.stdout), (r.stdout[-3000:], r.stderr[-3000:])
    run = reports / 'default' / 'main'
    # deterministic on CPU: the committed record's numbers, to the last digit (catches any drift of the training engine).
    # On a CPU whose kernels round differently the very first loss (before any update) differs in its last digits and
    # training amplifies that; the comparison then says so, and the check is the first loss to 1e-6 instead.
    if 'verdict: identical' not in r.stdout:
        assert "arithmetic is not the record's" in r.stdout, r.stdout[-3000:]
        from clipa.train import read_log
        here, rec = (read_log(d / 'main' / 'pretrain').loss for d in (reports / 'default', ROOT / 'reports' / 'default'))
        assert len(here) == len(rec) and abs(here.iloc[0] - rec.iloc[0]) <= 1e-6 * abs(rec.iloc[0]), (here.iloc[0], rec.iloc[0])
        assert abs(here.iloc[-1] - rec.iloc[-1]) <= 0.02 * abs(rec.iloc[-1]), (here.iloc[-1], rec.iloc[-1])
    st = json.loads((run / 'status.json').read_text())['stages']
    assert [st[s]['status'] for s in ('pretrain', 'finetune', 'evaluate')] == ['completed'] * 3, st
    res = {j['dataset']: j for j in (json.loads(p.read_text()) for p in (run / 'evaluate' / 'results').glob('*.json'))}
    for task in ('shapes/shape', 'shapes/colour'):
        c = res[task]['chance']
        # the whole 95% interval above max(1/C, majority share): what no model blind to the image can reach
        assert c['above'] and c['n'] == 1000 and c['p_value'] < 0.01, (task, c)
    assert res['shapes/colour']['metrics']['acc1'] > 0.8, res['shapes/colour']['metrics']
    assert res['shapes/retrieval']['metrics']['image_retrieval_recall@1'] > 0.1, res['shapes/retrieval']['metrics']
    summary = (reports / 'default' / 'summary.md').read_text()
    assert '1 completed, 0 failed' in summary and 'TFLOP' in summary, summary[:800]
    assert '## Provenance' in summary and 'torch 2.' in summary and ', seed 0' in summary, summary[-1500:]
    summ = json.loads((run / 'pretrain' / 'summary.json').read_text())
    assert summ['seed'] == 0 and len(summ['provenance']['git_commit']) == 40, summ.get('provenance')
    for f in ('main/pretrain/checkpoints/final.pt', 'main/finetune/checkpoints/final.pt', 'main/evaluate.ipynb',
              'run_report.ipynb', 'results.csv'):
        assert (reports / 'default' / f).is_file(), f
    # the after-stage: figures that mean something for one run, each PNG with its CSV
    after = json.loads((reports / 'default' / 'status.json').read_text())['stages']['run_report']
    assert after['status'] == 'completed', after
    for name in ('training_loss', 'zero_shot_vs_chance', 'per_class_recall', 'summary'):
        assert (reports / 'default' / 'run_report' / f'{name}.csv').is_file(), name
        assert name == 'summary' or (reports / 'default' / 'run_report' / f'{name}.png').stat().st_size > 10_000, name
    r2 = _study('default', '--reports', reports, timeout=300)          # completed stages are skipped
    assert r2.returncode == 0 and '0 stage(s) executed' in r2.stderr, r2.stderr[-2000:]
