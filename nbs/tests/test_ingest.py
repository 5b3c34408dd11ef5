"""A web folder to training, as a lab on a cluster runs it: `clipa-data shard` turns an img2dataset-style folder into
shards with POS tags, and `clipa-train --text-strategy syntax` trains on them with NLTK's tagger unreachable. Untagged
shards without the tagger end before the first step with one line that names both ways out."""
import json, os, subprocess, sys
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NLTK = os.environ.get('NLTK_DATA', str(REPO.parent / 'shared' / 'nltk_data'))


def _env(tmp_path, tagger: bool):
    "The environment of a compute node with (or without) NLTK's tagger: no ~/nltk_data, NLTK_DATA set or empty."
    home = tmp_path / 'home'; home.mkdir(exist_ok=True)
    env = dict(os.environ, HOME=str(home), OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    env['NLTK_DATA'] = NLTK if tagger else str(tmp_path / 'no-nltk-data')
    return env


@pytest.fixture(scope='module')
def web_folder(tmp_path_factory):
    "64 shapes pairs written the way img2dataset writes files: 00000/000000000.jpg + .txt + .json, and one corrupt image."
    from clipa.shapes import make_shapes
    d = tmp_path_factory.mktemp('web')
    for i, s in enumerate(make_shapes(64, seed=0, image_size=32)):
        k = d / f'{i // 32:05d}' / f'{i:09d}'; k.parent.mkdir(exist_ok=True)
        s['image'].resize((64, 64)).save(k.with_suffix('.jpg'), quality=92)
        k.with_suffix('.txt').write_text(s['caption']); k.with_suffix('.json').write_text(json.dumps(dict(i=i)))
    (d / '00001' / '000000999.jpg').write_bytes(b'\xff\xd8 broken'); (d / '00001' / '000000999.txt').write_text('a lost image')
    return d


def _shard(src, out, env, *extra):
    return subprocess.run([str(BIN / 'clipa-data'), 'shard', str(src), str(out), '--samples-per-shard', '16', '--quiet', *extra],
                          capture_output=True, text=True, env=env, timeout=300)


def _train(data, out, env):
    return subprocess.run([str(BIN / 'clipa-train'), '--model', 'clipa-tiny', '--data', str(data), '--image-size', '32',
                           '--text-strategy', 'syntax', '--text-length', '8', '--batch-size', '16', '--samples', '48',
                           '--threads', '1', '--warmup', '1', '--warmup-unit', 'steps', '--no-progress', '--out-dir', str(out)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_tagged_shards_train_without_the_tagger(web_folder, tmp_path):
    r = _shard(web_folder, tmp_path / 'tagged', _env(tmp_path, tagger=True))
    assert r.returncode == 0, r.stderr[-3000:]
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith('kept 64, dropped 1 (1 corrupt, 0 no caption, 0 no image); 4 shard(s)'), last
    t = _train(tmp_path / 'tagged', tmp_path / 'run', _env(tmp_path, tagger=False))
    assert t.returncode == 0, t.stderr[-3000:]
    s = json.loads((tmp_path / 'run' / 'summary.json').read_text())
    assert s['steps'] == 3, s


def test_untagged_shards_without_the_tagger_fail_in_one_line(web_folder, tmp_path):
    r = _shard(web_folder, tmp_path / 'plain', _env(tmp_path, tagger=False), '--no-tags')
    assert r.returncode == 0, r.stderr[-3000:]
    t = _train(tmp_path / 'plain', tmp_path / 'run', _env(tmp_path, tagger=False))
    assert t.returncode == 2, (t.stdout[-2000:], t.stderr[-2000:])
    err = t.stderr.strip().splitlines()
    assert len(err) == 1 and 'clipa-data shard SRC OUT' in err[0] and "nltk.download('averaged_perceptron_tagger_eng')" in err[0], err
    assert not (tmp_path / 'run' / 'log.jsonl').exists()          # before the first step
    # the same shards train when the tagger is present (tagged at load time)
    assert _train(tmp_path / 'plain', tmp_path / 'run2', _env(tmp_path, tagger=True)).returncode == 0


def test_shard_command_without_the_tagger_fails_in_one_line(web_folder, tmp_path):
    r = _shard(web_folder, tmp_path / 'x', _env(tmp_path, tagger=False))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and '--no-tags' not in r.stdout
    assert 'averaged_perceptron_tagger_eng' in r.stderr
