"Parameterised shapes world for the size-matters probe (throwaway)."
import math, numpy as np, torch
from PIL import Image, ImageDraw
from clipa.data import SHAPES, COLOURS, BACKGROUNDS, NUMBERS, draw_shape, plural

REG3 = ('top left', 'top', 'top right', 'left', 'centre', 'right', 'bottom left', 'bottom', 'bottom right')
REG2 = ('top left', 'top right', 'bottom left', 'bottom right')
PHR = {'top left': 'at the top left', 'top': 'at the top', 'top right': 'at the top right', 'left': 'on the left',
       'centre': 'in the centre', 'right': 'on the right', 'bottom left': 'at the bottom left', 'bottom': 'at the bottom',
       'bottom right': 'at the bottom right'}
COLOURS = dict(COLOURS, brown=(140, 85, 40), lime=(150, 210, 40), teal=(20, 130, 130), magenta=(200, 30, 140))
TEX = ('plain', 'speckled', 'striped', 'checked')

BASE = dict(shapes=SHAPES, colours=('red', 'orange', 'yellow', 'green', 'cyan', 'blue', 'purple', 'pink'), sizes={'small': 0.085, 'large': 0.15}, grid=3,
            counts=(1, 2, 3), count_p=(0.35, 0.35, 0.3), backgrounds=True, textures=True, image_size=64, repeat=0.45)
VARIANTS = {
    'base': {},
    # big objects in a 2x2 grid, plain background, no textures
    'big2': dict(sizes={'small': 0.15, 'large': 0.22}, grid=2, backgrounds=False, textures=False),
    # same but keep backgrounds/textures noise
    'big2n': dict(sizes={'small': 0.15, 'large': 0.22}, grid=2),
    # base grid but no bg/texture noise
    # big, single size, 12 colours (4 near existing hues), no bg/texture
    'big2x': dict(sizes={'large': 0.21}, grid=2, backgrounds=False, textures=False, colours=tuple(COLOURS)),
    'clean3': dict(backgrounds=False, textures=False),
}

def cfg_of(v):
    c = dict(BASE); c.update(VARIANTS[v] if isinstance(v, str) else v); return c

def sample(rng, c, split='train'):
    counts = c['counts']
    count = int(rng.choice(counts)) if split == 'count' else int(rng.choice(counts, p=c['count_p']))
    shapes, colours, sizes = c['shapes'], c['colours'], list(c['sizes'])
    fs = shapes[rng.integers(len(shapes))] if split == 'shape' else None
    fc = colours[rng.integers(len(colours))] if split == 'colour' else None
    g = c['grid']; regs = REG3 if g == 3 else REG2
    cells = rng.permutation(g * g)[:count]; objs = []
    for i, cell in enumerate(cells):
        if i > 0 and rng.random() < c['repeat']: o = {k: objs[0][k] for k in ('shape', 'colour', 'size')}
        else: o = dict(shape=shapes[rng.integers(len(shapes))], colour=colours[rng.integers(len(colours))],
                       size=sizes[rng.integers(len(sizes))])
        if fs: o['shape'] = fs
        if fc: o['colour'] = fc
        row, col = divmod(int(cell), g); slack = max(0.0, 1 / (2 * g) - c['sizes'][o['size']] - 0.005)
        o.update(region=regs[cell], x=(col + 0.5) / g + rng.uniform(-slack, slack), y=(row + 0.5) / g + rng.uniform(-slack, slack))
        objs.append(o)
    common = lambda k: objs[0][k] if all(o[k] == objs[0][k] for o in objs) else None
    bg = list(BACKGROUNDS)[rng.integers(len(BACKGROUNDS))] if c['backgrounds'] else 'light grey'
    tex = TEX[rng.integers(4)] if c['textures'] else 'plain'
    return dict(shape=common('shape'), colour=common('colour'), count=count, objects=objs, background=bg, texture=tex)

def caption(lab, c):
    groups = {}
    for o in lab['objects']: groups.setdefault((o['size'], o['colour'], o['shape']), []).append(o['region'])
    parts = []
    for (size, colour, shape), regs in groups.items():
        n = len(regs); sz = f'{size} ' if len(c['sizes']) > 1 else ''
        noun = f"{'a' if n == 1 else NUMBERS[n - 1]} {sz}{colour} {shape if n == 1 else plural(shape)}"
        parts.append(noun + ' ' + PHR[regs[0]] + ''.join(f' and the {r}' for r in regs[1:]))
    s = parts[0] if len(parts) == 1 else ', '.join(parts[:-1]) + ' and ' + parts[-1]
    if c['backgrounds'] or c['textures']:
        t = '' if lab['texture'] == 'plain' else lab['texture'] + ' '
        s += f" on a {t}{lab['background']} background"
    return s

def render(lab, c, rng):
    S = c['image_size']; ss = 4
    bg = np.array(BACKGROUNDS[lab['background']], np.float32) + rng.uniform(-8, 8, 3).astype(np.float32)
    img = np.broadcast_to(bg, (S, S, 3)).copy(); tex = lab['texture']
    if tex == 'speckled': img += rng.normal(0, 9, (S, S, 1)).astype(np.float32)
    elif tex in ('striped', 'checked'):
        period = rng.uniform(0.09, 0.16) * S; yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
        if tex == 'striped':
            a = rng.uniform(0, math.pi); wave = np.sin(2 * math.pi * (xx * math.cos(a) + yy * math.sin(a)) / period)
        else: wave = np.sign(np.sin(math.pi * xx / period) * np.sin(math.pi * yy / period))
        img += (9 * wave)[..., None]
    layer = Image.new('RGB', (S * ss, S * ss)); mask = Image.new('L', (S * ss, S * ss))
    dl, dm = ImageDraw.Draw(layer), ImageDraw.Draw(mask)
    for o in lab['objects']:
        cx, cy, r = o['x'] * S * ss, o['y'] * S * ss, c['sizes'][o['size']] * S * ss
        draw_shape(dl, o['shape'], cx, cy, r, COLOURS[o['colour']]); draw_shape(dm, o['shape'], cx, cy, r, 255)
    layer = np.asarray(layer.reduce(ss), np.float32); a = np.asarray(mask.reduce(ss), np.float32)[..., None] / 255
    return np.clip(img * (1 - a) + layer + 0.5, 0, 255).astype(np.uint8)

SPLIT_ID = dict(train=0, test=1, shape=2, colour=3, count=4)

def make(v, n, seed=0, split='train', start=0):
    "uint8 images [n,3,S,S], captions, labels; deterministic in (seed, split, index)."
    c = cfg_of(v); S = c['image_size']
    imgs = np.empty((n, S, S, 3), np.uint8); caps, labs = [], []
    for j, i in enumerate(range(start, start + n)):
        rng = np.random.default_rng([seed, 100 + SPLIT_ID[split], i])
        lab = sample(rng, c, split); imgs[j] = render(lab, c, rng); caps.append(caption(lab, c)); labs.append(lab)
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous(), caps, labs

def _job(a):
    v, n, seed, split, start = a; return make(v, n, seed, split, start)

def make_par(v, n, seed=0, split='train', workers=2, chunk=2000):
    if workers <= 1 or n <= chunk: return make(v, n, seed, split)
    import multiprocessing as mp
    args = [(v, min(chunk, n - s), seed, split, s) for s in range(0, n, chunk)]
    with mp.get_context('fork').Pool(workers) as p: parts = p.map(_job, args)
    return torch.cat([p[0] for p in parts]), sum((p[1] for p in parts), []), sum((p[2] for p in parts), [])
