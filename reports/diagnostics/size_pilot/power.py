"""Power before the sweep (issue 27, item 4): from the pilot's seed-to-seed spread at full tokens (world big2x, 3 seeds
per size, 32k fresh pairs), the predicted 95% half-width of the slope per decade of model GFLOPs of the relative score
(reduced-token score / full-token score) over the ladder clipa-l0..l3, for n seeds per cell.

Model: each run's relative score r = s_red / s_full. With the seed spread sd of a score whose mean is m, Var(r) is about
(1 - rho) * 2 * (sd / m)^2 for paired runs whose scores correlate by rho (seed shared by the full and reduced run). The
slope is a least-squares fit of r on log10 GFLOPs over the 4 sizes x n seeds; SE = sigma_r / sqrt(n * sum (x - mean x)^2),
the half-width t(0.975, 4n - 2) * SE. rho = 0 is the conservative case (no benefit from pairing); rho = 0.5 a plausible
one. The per-size sd is pooled over sizes. Writes power.md beside this file.
Run: .venv/bin/python reports/diagnostics/size_pilot/power.py
"""
from pathlib import Path
import numpy as np, pandas as pd
from scipy import stats

HERE = Path(__file__).resolve().parent
df = pd.read_csv(HERE / 'pilot.csv'); df = df[df.variant == 'big2x']
base = dict(zs_shape=0.167)
df['shape_norm'] = (df.zs_shape - 1 / 7) / (1 - 1 / 7)
metrics = {'R1_t2i': 'caption→image R@1 (held-out 2,000)', 'cond_shape': 'shape given the rest of the caption',
           'shape_norm': 'zero-shot shape, (acc − 1/7) / (1 − 1/7): the headline'}
g = df.groupby('model')
x = np.log10(g.gflops.first().values); sxx = ((x - x.mean()) ** 2).sum()
rows = []
for m, what in metrics.items():
    cv = np.sqrt((g[m].var(ddof=1) / g[m].mean() ** 2).mean())          # pooled coefficient of variation
    for rho in (0.0, 0.5):
        sig = np.sqrt((1 - rho) * 2) * cv
        for n in (3, 5, 8, 10, 12, 16):
            hw = stats.t.ppf(0.975, 4 * n - 2) * sig / np.sqrt(n * sxx)
            rows.append(dict(metric=m, rho=rho, seeds=n, cv=round(cv, 4), half_width_per_decade=round(hw, 3)))
t = pd.DataFrame(rows)
need = t[t.half_width_per_decade <= 0.08].groupby(['metric', 'rho']).seeds.min().rename('seeds for <= 0.08').reset_index()
md = ["# Power of the inverse-scaling sweep, predicted from the size pilot\n",
      f"Ladder clipa-l0..l3: {10 ** (x.max() - x.min()):.0f}× in GFLOPs per pair ({x.max() - x.min():.2f} decades), "
      "full tokens, world big2x, 3 seeds per size (pilot.csv). Relative score = reduced / full of the same seed.\n",
      pd.DataFrame([dict(metric=m, what=w) for m, w in metrics.items()]).to_markdown(index=False), "",
      t.pivot_table(index=['metric', 'rho'], columns='seeds', values='half_width_per_decade').to_markdown(), "",
      need.to_markdown(index=False), ""]
(HERE / 'power.md').write_text('\n'.join(md) + '\n'); print('\n'.join(md))
