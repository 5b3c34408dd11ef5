"""Faults at scale, on CPU with gloo: a rank killed with SIGKILL under `torchrun --max-restarts 1` restarts from the last
checkpoint and ends with the weights of an uninterrupted 2-rank run; a checkpoint write that fails for a full disk
(ENOSPC, simulated) ends the run with one line and leaves the previous latest.pt loadable, and a rerun resumes from it.

Tolerance: the weights must be bit-identical (max |difference| 0); the engine restores every RNG, the data position and
the optimizer state exactly, and gloo's all-reduce is deterministic for a fixed world size."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1',
           NLTK_DATA=os.environ.get('NLTK_DATA', str(REPO.parent / 'shared' / 'nltk_data')))
TORCHRUN = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2']


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    from clipa.shapes import make_shapes; from clipa.shards import write_shards
    d = tmp_path_factory.mktemp('shapes')
    write_shards(make_shapes(256, seed=0, image_size=32), d, samples_per_shard=64, tags=False)
    return str(d)


def _args(shapes, out, **kw):
    a = dict(model='clipa-tiny', data=shapes, max_samples=128, image_size=32, text_length=16, batch_size=16, lr=2e-3,
             warmup=2, warmup_unit='steps', threads=1, log_every=1, seed=0, samples=16 * 12, save_every=3,
             image_strategy='random', image_keep=0.5, out_dir=str(out))
    a.update(kw)
    return [x for k, v in a.items() for x in ('--' + k.replace('_', '-'), str(v))] + ['--no-progress']


def _weights(out): return torch.load(Path(out) / 'checkpoints' / 'final.pt', weights_only=True)['state_dict']

def _max_diff(a, b):
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)

def _steps(out):
    p = Path(out) / 'log.jsonl'
    return [json.loads(l)['step'] for l in p.read_text().splitlines() if l.strip()] if p.exists() else []


def _worker(agent: int, rank: int) -> int:
    "The pid of torchrun's worker process of `rank` (a child of the agent whose environment has RANK=rank)."
    for kid in subprocess.run(['pgrep', '-P', str(agent)], capture_output=True, text=True).stdout.split():
        try: env = Path(f'/proc/{kid}/environ').read_bytes().split(b'\0')
        except OSError: continue
        if f'RANK={rank}'.encode() in env and b'LOCAL_WORLD_SIZE=2' in env: return int(kid)
    raise AssertionError(f'no worker of rank {rank} under torchrun pid {agent}')


def test_killed_rank_restarts_from_the_last_checkpoint(shapes, tmp_path):
    ref = subprocess.run(TORCHRUN + ['-m', 'clipa.train'] + _args(shapes, tmp_path / 'ref'), capture_output=True,
                         text=True, env=ENV, timeout=600, cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr[-3000:]
    out = tmp_path / 'killed'
    log_f = open(tmp_path / 'torchrun.log', 'w')                     # a file, not a pipe: nothing blocks on output
    p = subprocess.Popen(TORCHRUN + ['--max-restarts=1', '-m', 'clipa.train'] + _args(shapes, out, debug_step_delay=0.3),
                         env=ENV, cwd=tmp_path, stdout=log_f, stderr=subprocess.STDOUT, text=True)
    t0, victim = time.time(), None
    try:
        while time.time() - t0 < 300:
            if max(_steps(out), default=0) >= 5 and (out / 'checkpoints' / 'latest.pt').exists(): break
            assert p.poll() is None, (tmp_path / 'torchrun.log').read_text()[-3000:]
            time.sleep(0.05)
        victim = _worker(p.pid, rank=1)
        os.kill(victim, signal.SIGKILL)
        p.wait(timeout=600)
    finally:
        if p.poll() is None: p.kill()
        log_f.close()
    log = (tmp_path / 'torchrun.log').read_text()
    assert p.returncode == 0, log[-3000:]
    assert 'restart' in log.lower() or 'Restarting' in log, log[-3000:]
    s = json.loads((out / 'summary.json').read_text())
    assert s['steps'] == 12 and s['world_size'] == 2
    assert s['resumed_from_step'] in (3, 6, 9), s['resumed_from_step']   # restarted from a checkpoint, not from 0
    assert _steps(out) == list(range(1, 13))                       # the log is whole: no step twice, none lost
    assert _max_diff(_weights(out), _weights(tmp_path / 'ref')) == 0


FULL_DISK = """
import errno, sys, torch
real, calls = torch.save, [0]
def save(obj, f, *a, **k):
    calls[0] += 1
    if calls[0] == 2:                                   # the second checkpoint: the disk fills half-way through
        open(f, 'wb').write(b'PK partial'); raise OSError(errno.ENOSPC, 'No space left on device')
    return real(obj, f, *a, **k)
torch.save = save
from clipa.train import main
raise SystemExit(main(sys.argv[1:]))
"""

def test_full_disk_at_a_checkpoint_ends_in_one_line_and_resumes(shapes, tmp_path):
    out = tmp_path / 'run'
    r = subprocess.run([sys.executable, '-c', FULL_DISK] + _args(shapes, out), capture_output=True, text=True, env=ENV,
                       timeout=600, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout[-2000:], r.stderr[-2000:])
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and 'No space left on device' in err[0] and 'latest.pt is kept' in err[0], err
    ck = torch.load(out / 'checkpoints' / 'latest.pt', weights_only=True)  # the previous checkpoint, whole
    assert ck['step'] == 3
    assert sorted(p.name for p in (out / 'checkpoints').iterdir()) == ['latest.pt']   # no partial file left
    again = subprocess.run([sys.executable, '-m', 'clipa.train'] + _args(shapes, out), capture_output=True, text=True,
                           env=ENV, timeout=600, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    s = json.loads((out / 'summary.json').read_text())
    assert (s['resumed_from_step'], s['steps']) == (3, 12)
    ref = subprocess.run([sys.executable, '-m', 'clipa.train'] + _args(shapes, tmp_path / 'ref'), capture_output=True,
                         text=True, env=ENV, timeout=600, cwd=tmp_path)
    assert ref.returncode == 0 and _max_diff(_weights(out), _weights(tmp_path / 'ref')) == 0
