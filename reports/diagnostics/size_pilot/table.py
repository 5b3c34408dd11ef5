"""The size pilot's table: runs.jsonl (one line a run; an `eval_only` line re-evaluates a run and adds metrics) ->
pilot.csv (one row a run) and pilot_agg.md (mean and 95 % t-interval over seeds, per world variant and model).
Run: python reports/diagnostics/size_pilot/table.py"""
import json, math
from pathlib import Path
import pandas as pd
from scipy import stats

HERE = Path(__file__).parent
METRICS = ['heldout_loss', 'R1_t2i', 'cond_shape', 'zs_shape', 'zs_colour', 'zs_count', 'swap2afc_shape']
BASE = {'zs_shape': 'zs_shape_base', 'zs_colour': 'zs_colour_base', 'zs_count': 'zs_count_base'}

def runs():
    d = {}
    for line in (HERE / 'runs.jsonl').read_text().splitlines():
        r = json.loads(line); k = (r['variant'], r['model'], r['seed']); old = d.get(k, {})
        if r.pop('eval_only', False): r = {kk: v for kk, v in r.items() if kk not in ('t_train', 'sps', 't_gen')}
        d[k] = {**old, **r}
    return pd.DataFrame(d.values())

def ci(x):
    x = x.dropna(); n = len(x)
    if n < 2: return f'{x.mean():.3f} (n={n})'
    h = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return f'{x.mean():.3f} [{x.mean() - h:.3f}, {x.mean() + h:.3f}]'

df = runs().sort_values(['variant', 'gflops', 'seed'])
df.to_csv(HERE / 'pilot.csv', index=False)
rows = []
for (v, m), g in df.groupby(['variant', 'model'], sort=False):
    rows.append([v, m, f"{g.gflops.iloc[0]:.4f}", str(len(g)), f"{g.t_train.mean():.0f}"] + [ci(g[c]) for c in METRICS])
head = ['world', 'model', 'GFLOPs/pair', 'seeds', 'train s'] + METRICS
md = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)] + ['| ' + ' | '.join(r) + ' |' for r in rows]
base = df.groupby('variant')[[*BASE.values()]].first().round(3)
md += ['', 'Image-blind baselines (largest class share or 1/C): '
       + '; '.join(f"{v}: shape {b.zs_shape_base}, colour {b.zs_colour_base}, count {b.zs_count_base}" for v, b in base.iterrows())]
(HERE / 'pilot_agg.md').write_text('\n'.join(md) + '\n')
print('\n'.join(md))
