"""The console scripts as a user meets them: bad input gets one line `clipa-X: error: …` and exit status 2 (no
traceback unless --debug), a truncated shard is counted by name, and an installed wheel (no checkout) finds the
shipped studies and stage notebooks."""
import json, os, subprocess, sys, tarfile, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env(**kw):
    env = {k: v for k, v in os.environ.items() if k != 'CLIPA_DEBUG'}
    env.update(MPLBACKEND='Agg', PYTHONWARNINGS='ignore', **kw)
    env['PATH'] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(*args, cwd=None, **env):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=_env(**env), timeout=300)


def _one_line_error(r, prog, *needles):
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'{prog}: error: '), r.stderr[-2000:]
    for n in needles: assert n in lines[0], (n, lines[0])
    assert 'Traceback' not in r.stderr


@pytest.fixture(scope='module')
def suite(tmp_path_factory):
    "A tiny shapes suite (train shards + eval sets) built through clipa-data."
    d = tmp_path_factory.mktemp('data') / 'shapes'
    r = _run('clipa-data', 'build', 'shapes', '--root', d, '--n-train', 40, '--n-test', 8, '--image-size', 32,
             '--samples-per-shard', 20, '--quiet', '--workers', 1)
    assert r.returncode == 0, r.stderr
    return d


def test_train_and_study_and_fit_and_data_errors(tmp_path):
    _one_line_error(_run('clipa-train', '--image-strategy', 'blur'), 'clipa-train', "image_strategy 'blur'", 'grid')
    _one_line_error(_run('clipa-train', '--batch-size', 'many'), 'clipa-train', "invalid int value: 'many'")
    _one_line_error(_run('clipa-train', '--nosuch-flag'), 'clipa-train', 'unrecognized arguments: --nosuch-flag')
    _one_line_error(_run('clipa-study', 'nosuch'), 'clipa-study', "study 'nosuch' not found", 'available: ')
    (tmp_path / 'runs.csv').write_text('a,b\n1,2\n')
    _one_line_error(_run('clipa-fit', tmp_path / 'runs.csv', '--compute', 'gflops', '--metric', 'acc1'), 'clipa-fit',
                    "needs column(s) ['gflops', 'acc1']")
    _one_line_error(_run('clipa-data', 'build', 'shapes', '--n-train', '0'), 'clipa-data', 'n_train=0 is not allowed')
    _one_line_error(_run('clipa-export', tmp_path / 'nosuch.pt', tmp_path / 'out'), 'clipa-export', 'nosuch.pt')
    r = _run('clipa-train', '--image-strategy', 'blur', '--debug')            # --debug: the traceback is shown
    assert r.returncode != 0 and 'Traceback' in r.stderr and "image_strategy 'blur'" in r.stderr
    r = _run('clipa-train', '--image-strategy', 'blur', CLIPA_DEBUG='1')
    assert 'Traceback' in r.stderr


@pytest.mark.parametrize('kind', ['missing', 'empty', 'garbage', 'text', 'truncated', 'other_model'])
def test_bad_checkpoint(kind, suite, tmp_path):
    "Every kind of bad checkpoint: one line naming the file, exit 2, before any compute."
    import torch
    ck = tmp_path / f'{kind}.pt'
    if kind == 'empty': ck.write_bytes(b'')
    elif kind == 'garbage': ck.write_bytes(os.urandom(2000))
    elif kind == 'text': ck.write_text('not a checkpoint\n' * 20)
    elif kind in ('truncated', 'other_model'):
        from clipa.model import create_model
        m = create_model('clipa-micro' if kind == 'other_model' else 'clipa-tiny')
        torch.save(dict(state_dict=m.state_dict()), ck)
        if kind == 'truncated': ck.write_bytes(ck.read_bytes()[:ck.stat().st_size // 2])
    r = _run('clipa-evaluate', '--model', 'clipa-tiny', '--checkpoint', ck, '--dataset', suite.name,
             '--data-root', suite.parent, '--out', tmp_path / 'out', '--no-progress')
    _one_line_error(r, 'clipa-evaluate', str(ck))
    assert not (tmp_path / 'out' / 'results').exists()                     # nothing was computed
    r = _run('clipa-train', '--model', 'clipa-tiny', '--data', 'synthetic', '--samples', 64, '--batch-size', 32,
             '--init-checkpoint', ck, '--out', tmp_path / 'ft', '--no-progress')
    _one_line_error(r, 'clipa-train', str(ck))


def test_unknown_model(suite, tmp_path):
    r = _run('clipa-evaluate', '--model', 'clipa-nosuch', '--dataset', suite.name, '--data-root', suite.parent, '--out', tmp_path)
    _one_line_error(r, 'clipa-evaluate', 'clipa-nosuch')


def test_truncated_shard_counted_by_name(suite, tmp_path):
    shards = sorted((suite / 'train').glob('*.tar'))
    d = tmp_path / 'shards'; d.mkdir()
    good, cut = d / 'good.tar', d / 'cut.tar'
    good.write_bytes(shards[0].read_bytes())
    with tarfile.open(shards[1]) as t: at = t.getmembers()[6].offset         # cut at a member boundary: no tar error
    cut.write_bytes(shards[1].read_bytes()[:at])
    r = _run('clipa-data', 'info', d)
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)['stats']
    assert st['shard_errors'] == 1 and st['bad_shards'] == [str(cut)] and st['kept'] == 20 + 2, st
    assert 'cut.tar' in r.stderr


def test_wheel_ships_studies(tmp_path):
    "`pip install` of the wheel alone: `clipa-study default --dry-run` works from any folder, outside the checkout."
    r = _run(sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', tmp_path / 'whl', ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    whl = next((tmp_path / 'whl').glob('clipa-*.whl'))
    names = zipfile.ZipFile(whl).namelist()
    for f in ('clipa/studies/default.yaml', 'clipa/experiments/pretrain.ipynb', 'clipa/core.py'):
        assert f in names, (f, names)
    site = tmp_path / 'site'
    r = _run(sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', site, whl)
    assert r.returncode == 0, r.stderr[-3000:]
    away = tmp_path / 'elsewhere'; away.mkdir()
    code = ("import clipa, sys; from clipa.study import main; rc = main(['default', '--dry-run']); "
            "print('FROM', clipa.__file__); sys.exit(rc)")
    r = _run(sys.executable, '-c', code, cwd=away, PYTHONPATH=str(site))
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"FROM {site}" in r.stdout, r.stdout[-500:]                     # the wheel, not the checkout
    assert "study 'default'" in r.stdout and 'pretrain' in r.stdout, r.stdout[-2000:]
    assert str(site / 'clipa' / 'experiments' / 'pretrain.ipynb') in r.stdout
