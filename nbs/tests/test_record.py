"""The committed record (reports/) stays slim: one training log per stage, no figure copies inside executed notebooks,
and at most 40 MB in all. `clipa.results.slim_stage` keeps it so as a study runs; `slim_record` slims older folders."""
import json
from pathlib import Path

REPORTS = Path(__file__).resolve().parents[2] / 'reports'
LOGS = ('log.jsonl', 'log.jsonl.gz', 'log.csv')

def duplicated_logs(root):
    "Folders holding more than one copy of a training log."
    dirs = {p.parent for n in LOGS for p in root.rglob(n)}
    return sorted(str(d.relative_to(root)) for d in dirs if sum((d / n).is_file() for n in LOGS) > 1)

def notebooks_with_figures(root):
    "Executed notebooks that still embed image outputs (their figures sit beside them as PNGs)."
    bad = []
    for p in sorted(root.rglob('*.ipynb')):
        nb = json.loads(p.read_text())
        if any(k.startswith('image/') for c in nb.get('cells', []) for o in c.get('outputs', []) for k in o.get('data', {})):
            bad.append(str(p.relative_to(root)))
    return bad

def grid_examples(root):
    "Retrieval-example figures inside studies of more than one run (kept for single runs only)."
    bad = []
    for study in (d for d in root.iterdir() if d.is_dir()):
        runs = [d for d in study.iterdir() if (d / 'status.json').is_file() and d.is_dir()]
        if len(runs) > 1: bad += [str(p.relative_to(root)) for r in runs for p in r.rglob('retrieval_examples_*.png')]
    return sorted(bad)

def test_one_log_per_stage():
    assert duplicated_logs(REPORTS) == []

def test_no_figures_inside_notebooks():
    assert notebooks_with_figures(REPORTS) == []

def test_no_examples_in_grid_studies():
    assert grid_examples(REPORTS) == []

def test_record_size():
    size = sum(p.stat().st_size for p in REPORTS.rglob('*') if p.is_file() and 'checkpoints' not in p.parts)   # git-ignored
    assert size <= 40e6, f'reports/ holds {size / 1e6:.1f} MB (at most 40): run clipa.results.slim_record("reports")'

def test_the_checks_can_fail(tmp_path):
    (tmp_path / 'run' / 'pretrain').mkdir(parents=True)
    for n in ('log.jsonl', 'log.csv'): (tmp_path / 'run' / 'pretrain' / n).write_text('{}\n')
    (tmp_path / 'run' / 'pretrain.ipynb').write_text(json.dumps(dict(cells=[dict(
        cell_type='code', outputs=[dict(output_type='display_data', data={'image/png': 'iVBOR'})])])))
    assert duplicated_logs(tmp_path) == ['run/pretrain']
    assert notebooks_with_figures(tmp_path) == ['run/pretrain.ipynb']
    from clipa.results import slim_record
    slim_record(tmp_path, progress=False)
    assert duplicated_logs(tmp_path) == [] and notebooks_with_figures(tmp_path) == []
    for r in ('run', 'run2'):
        (tmp_path / 's' / r / 'evaluate').mkdir(parents=True); (tmp_path / 's' / r / 'status.json').write_text('{}')
        (tmp_path / 's' / r / 'evaluate' / 'retrieval_examples_x.png').write_bytes(b'png')
    assert grid_examples(tmp_path) == ['s/run/evaluate/retrieval_examples_x.png', 's/run2/evaluate/retrieval_examples_x.png']
