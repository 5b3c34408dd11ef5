"""clipa.icons across processes: two builds of the same tiny fake icon sets, in fresh interpreters with different
hash seeds (so any dependence on set/dict iteration order would show), give the same bytes; and a build without
npm or a cached package stops with one clear error. Offline: the fake sets are written into the npm cache."""
import hashlib, json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BUILD = """
import json, sys
from clipa.icons import _fake_icon_set, build_icons
cache, root = sys.argv[1], sys.argv[2]
body = lambda i, k: f'<circle cx="12" cy="12" r="{3 + (i + k) % 8}" fill="currentColor"/><rect x="{2 + i % 5}" y="2" width="4" height="9"/>'
for k, p in enumerate(['tabler', 'ph', 'lucide', 'bi']):
    names = ['home', 'heart', 'star', 'bell', f'{p}-only', 'heart-fill']
    _fake_icon_set(cache, p, {n: dict(body=body(i, k)) for i, n in enumerate(names)})
m = build_icons(root, cache=cache, sets=['tabler', 'ph', 'lucide', 'bi'], samples_per_shard=4, progress=False, npm='no-such-npm')
print(json.dumps(m['counts']))
"""

def run(code, *args, seed='0'):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''), PYTHONHASHSEED=seed)
    return subprocess.run([sys.executable, '-c', code, *map(str, args)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)

def digest(root):
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob('*')) if p.is_file() and p.name != 'manifest.json'}

def test_same_bytes_across_processes(tmp_path):
    outs = []
    for seed in ('1', '2'):
        r = run(BUILD, tmp_path / f'npm{seed}', tmp_path / f'icons{seed}', seed=seed)
        assert r.returncode == 0, r.stderr
        outs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    assert outs[0] == outs[1] and outs[0]['train'] == 12 and outs[0]['test'] == 12, outs
    a, b = digest(tmp_path / 'icons1'), digest(tmp_path / 'icons2')
    assert a == b and len(a) > 8 and 'LICENCES.md' in a

def test_missing_npm_is_one_clear_error(tmp_path):
    r = run("from clipa.icons import build_icons; build_icons(sys.argv[1], cache=sys.argv[2], sets=['tabler', 'lucide'], npm='no-such-npm')"
            .replace('from', 'import sys; from', 1), tmp_path / 'icons', tmp_path / 'empty-cache')
    assert r.returncode != 0 and 'RuntimeError: npm was not found on PATH' in r.stderr and 'install Node.js + npm' in r.stderr
