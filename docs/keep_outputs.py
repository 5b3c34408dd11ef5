"""Execute module notebooks in place so that they keep their cheap outputs (figures, small tables) for the docs site.
Cells flagged `#| slow` / `#| notest` / `#| gpu` are skipped, as `nbdev_test` does; very long text outputs (logs,
progress bars) are dropped, figures and tables kept. Run `nbdev_clean` afterwards.
Usage: env -u MPLBACKEND python docs/keep_outputs.py nbs/00_core.ipynb [...]"""
import os, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from nbdev.config import get_config

SKIP = set(get_config().get('tst_flags', '').split())
MAX_TEXT = 4000

def _flags(cell) -> set:
    first = [l for l in cell.source.splitlines() if l.startswith('#|')]
    return {w for l in first for w in l[2:].split()}

def _skip(cell):
    if cell.cell_type == 'code' and _flags(cell) & SKIP: cell.source = '# (not run for the docs: ' + ' '.join(sorted(_flags(cell) & SKIP)) + ')\n' + cell.source; return True

def _trim(cell):
    keep = []
    for o in cell.get('outputs', []):
        text = ''.join(o.get('text', '')) if o.get('output_type') == 'stream' else ''
        if o.get('output_type') == 'stream' and (o.get('name') == 'stderr' or len(text) > MAX_TEXT): continue
        data = o.get('data', {})
        if 'text/plain' in data and len(''.join(data['text/plain'])) > MAX_TEXT and not any(k.startswith('image/') or k == 'text/html' for k in data): continue
        keep.append(o)
    cell['outputs'] = keep

for f in sys.argv[1:]:
    t0 = time.time(); nb = read_nb(f)
    src = {id(c): c.source for c in nb.cells}
    sh = CaptureShell(path=Path(f).parent)
    sh.run_all(nb, exc_stop=True, preproc=_skip)
    for c in nb.cells:
        c.source = src[id(c)]                      # the source as it was (the skip note is only for the run)
        if c.cell_type == 'code': _trim(c)
    write_nb(nb, f)
    print(f'{f}: {time.time() - t0:.0f} s', flush=True)
