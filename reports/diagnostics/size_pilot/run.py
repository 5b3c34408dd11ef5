"Probe driver: train one (variant, model, seed) on fresh pairs, evaluate, append a JSON line to probe/runs.jsonl."
import argparse, json, time, math, os, sys, random
import numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, '/work/probe')
import clipa.model as M
M.MODEL_CONFIGS['clipa-l0'] = M._cfg(32, 32, 1, 32, 8, 64, 32, 1, 1, 32)
M.MODEL_CONFIGS['clipa-l0b'] = M._cfg(32, 48, 1, 16, 8, 64, 48, 1, 3, 32)
import clipa.train as T
from clipa.data import SHAPES_TEMPLATES, NUMBERS
from clipa.evaluate import zero_shot_classifier, tokenizer_for
from probe.world import make_par, make, cfg_of

p = argparse.ArgumentParser()
p.add_argument('--variant', default='base'); p.add_argument('--model', default='clipa-l1'); p.add_argument('--seed', type=int, default=0)
p.add_argument('--samples', type=int, default=40000); p.add_argument('--lr', type=float, default=2e-3)
p.add_argument('--tag', default=''); p.add_argument('--eval_only', action='store_true'); p.add_argument('--patch', type=int, default=None); p.add_argument('--image_size', type=int, default=None)
a = p.parse_args()
torch.set_num_threads(2)
wc = cfg_of(a.variant)
if a.image_size: wc['image_size'] = a.image_size
model_name = a.model
if a.patch or wc['image_size'] != 64:
    import copy
    c = copy.deepcopy(M.MODEL_CONFIGS[a.model]); c['vision_cfg']['patch_size'] = a.patch or 8; c['vision_cfg']['image_size'] = wc['image_size']
    model_name = f"{a.model}-p{a.patch or 8}-s{wc['image_size']}"; M.MODEL_CONFIGS[model_name] = c
M.register_models()
t0 = time.time()
# fresh data: distinct pairs per seed (data seed = 1000 + seed), as many as samples seen
imgs, caps, _ = (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), ['x'], None) if a.eval_only else make_par(wc, a.samples, seed=1000 + a.seed, split='train', workers=2)
t_gen = time.time() - t0
ds = T.MemorySet(imgs, caps)
T.load_stage_data = lambda cfg, geo, rank=0, world=1: ds
out = f"/tmp/probe_runs/{a.variant}{a.tag}_{model_name}_s{a.seed}"
import shutil
if not a.eval_only: shutil.rmtree(out, ignore_errors=True)
cfg = T.StageConfig(model=model_name, data='synthetic', image_size=wc['image_size'], image_strategy='none', image_keep=1.0,
                    text_strategy='truncate', text_length=32, batch_size=64, samples=a.samples, lr=a.lr, warmup=2000,
                    seed=a.seed, out_dir=out, resume=False, save_every=0, progress=False, tensorboard=False, threads=2)
t1 = time.time()
if a.eval_only:
    summ = json.load(open(f'{out}/summary.json')); t_train = summ.get('wall_s') or summ.get('train_s') or float('nan'); print(list(summ))
else: summ = T.train(cfg); t_train = time.time() - t1
model = M.create_model(model_name, image_size=wc['image_size'], context_length=32)
sd = torch.load(f'{out}/checkpoints/final.pt', map_location='cpu', weights_only=True)
model.load_state_dict(sd.get('state_dict', sd)); model.eval()
tok = tokenizer_for(model, model_name)
S = wc['image_size']

@torch.no_grad()
def enc_img(x): return torch.cat([model.encode_image(T._model_input(x[i:i+256], S), normalize=True) for i in range(0, len(x), 256)])
@torch.no_grad()
def enc_txt(c): return torch.cat([model.encode_text(tok(c[i:i+256]), normalize=True) for i in range(0, len(c), 256)])

t2 = time.time(); res = {}
# held-out: 2000 pairs (test split; seed 7 = same held-out set for every run of the variant)
ti, tc, tl = make(wc, 2000, seed=7, split='test')
fi, ft = enc_img(ti), enc_txt(tc); ls = model.logit_scale.exp().clamp(max=100).item()
losses = []
for i in range(0, 2000, 64):
    lg = ls * fi[i:i+64] @ ft[i:i+64].T; y = torch.arange(len(lg))
    losses.append(((F.cross_entropy(lg, y) + F.cross_entropy(lg.T, y)) / 2).item())
res['heldout_loss'] = float(np.mean(losses))
sim = ft[:1000] @ fi[:1000].T; top = sim.argmax(1)
res['R1_t2i'] = float((top == torch.arange(1000)).float().mean())
res['R1_t2i_tie'] = float(np.mean([tc[int(top[i])] == tc[i] for i in range(1000)]))
res['R1_i2t'] = float(((fi[:1000] @ ft[:1000].T).argmax(1) == torch.arange(1000)).float().mean())
res['caption_unique'] = len(set(tc[:1000]))
# swap 2AFC: change one object's shape (or colour) in the caption, does the image prefer the true one?
rng = np.random.default_rng(3)
from probe.world import caption
def swapped(lab, key, vals):
    import copy; l2 = copy.deepcopy(lab); o = l2['objects'][0]; old = o[key]
    new = [v for v in vals if v != old][rng.integers(len(vals) - 1)]
    for q in l2['objects']:
        if all(q[k] == o[k] for k in ('shape', 'colour', 'size')) and q is not o: q[key] = new
    o[key] = new; return caption(l2, wc)
for key, vals in (('shape', wc['shapes']), ('colour', wc['colours'])):
    sc = [swapped(l, key, vals) for l in tl[:1000]]
    fs = enc_txt(sc); res[f'swap2afc_{key}'] = float(((fi[:1000] * ft[:1000]).sum(1) > (fi[:1000] * fs).sum(1)).float().mean())
# zero-shot
for task, classes in (('shape', list(wc['shapes'])), ('colour', list(wc['colours'])), ('count', list(NUMBERS[:max(wc['counts'])]))):
    x, _, labs = make(wc, 1000, seed=7, split=task)
    y = torch.tensor([classes.index(l[task]) if task != 'count' else l['count'] - 1 for l in labs])
    W = zero_shot_classifier(model, tok, classes, SHAPES_TEMPLATES[task])
    pred = (enc_img(x) @ W).argmax(1)
    res[f'zs_{task}'] = float((pred == y).float().mean())
    res[f'zs_{task}_base'] = float(max(1 / len(classes), np.bincount(y.numpy()).max() / len(y)))

# caption-form zero-shot shape: class embedding = mean over one-object training-style captions (every size, colour, region)
from probe.world import REG3, REG2, PHR
regs = REG3 if wc['grid'] == 3 else REG2
def one_caps(shape):
    out = []
    for sz in wc['sizes']:
        for col in wc['colours']:
            for r in regs:
                lab = dict(objects=[dict(size=sz, colour=col, shape=shape, region=r)], texture='plain', background='grey')
                out.append(caption(lab, wc))
    return out
xs, _, labs_s = make(wc, 1000, seed=7, split='shape')
ys = torch.tensor([list(wc['shapes']).index(l['shape']) for l in labs_s]); fxs = enc_img(xs)
Wc = torch.stack([F.normalize(enc_txt(one_caps(sh)).mean(0), dim=0) for sh in wc['shapes']], 1)
res['zs_shape_capt'] = float(((fxs @ Wc).argmax(1) == ys).float().mean())
# caption-conditional shape: the true caption with every object's shape set to each class (7-way), chance 1/7
import copy
sc = []
for l in labs_s:
    for sh in wc['shapes']:
        l2 = copy.deepcopy(l)
        for o in l2['objects']: o['shape'] = sh
        sc.append(caption(l2, wc))
fsc = enc_txt(sc).view(1000, len(wc['shapes']), -1)
res['cond_shape'] = float(((fsc * fxs[:, None]).sum(-1).argmax(1) == ys).float().mean())
t_eval = time.time() - t2
last = T.read_log(out)['loss'].tolist()[-20:]
row = dict(**({'eval_only': True} if a.eval_only else {}), variant=a.variant + a.tag, model=model_name, seed=a.seed, samples=a.samples, gflops=summ.get('gflops_per_sample'),
           t_gen=round(t_gen, 1), t_train=round(t_train, 1), sps=round(a.samples / t_train, 1), t_eval=round(t_eval, 1),
           train_loss_last20=float(np.mean(last)) if len(last) else None, **{k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()})
print(json.dumps(row))
with open('/work/probe/probe/runs.jsonl', 'a') as f: f.write(json.dumps(row) + '\n')
