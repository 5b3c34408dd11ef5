"""Build the documentation site into `_docs/` without Quarto: nbdev's processed notebooks, rendered by Sphinx + myst-nb.

Where Quarto is installed, `nbdev_docs` is the path; this is the same site for machines without it.
Steps: `nbdev.serve.proc_nbs` (the step `nbdev_docs` runs before Quarto: hides `#| hide` cells, adds and
renders the `show_doc` cells) -> translate what only Quarto understands (front matter, `#|` cell options,
`{{< include >}}`, pandoc link attributes, links to the doc host) into a source folder for Sphinx in
`_proc/_sphinx/` -> `sphinx-build` with `docs/conf.py`. Notebooks are not executed: the pages show the
outputs the notebooks keep. Usage: `python docs/build_site.py [OUT]` (default `_docs`)."""
import json, re, shutil, subprocess, sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from nbdev.config import get_config

ROOT = Path(__file__).resolve().parents[1]
PAGES = 'index.ipynb', '[0-9][0-9]_*.ipynb'           # notebooks of nbs/ that become pages (the index, then the modules)
EXTRA = {'reports/README.md': 'reports.md', 'CONTRIBUTING.md': 'contributing.md',
         'docs/coming_from_open_clip.md': 'coming_from_open_clip.md', 'docs/gpu_cost.md': 'gpu_cost.md'}   # other pages: repository file -> page in the site
OPTS = re.compile(r'^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')
INCLUDE = re.compile(r'\{\{<\s*include\s+(\S+)\s*>\}\}')
MD_LINK = re.compile(r'(!?)\[([^\]]*)\]\(([^)\s]+)\)(\{[^}]*\})?')

def front_matter(nb):
    "The YAML front matter nbdev puts in a raw first cell (title, description, output-file), or {}."
    c = nb['cells'][0] if nb['cells'] else None
    if not c or c['cell_type'] != 'raw': return {}
    return yaml.safe_load(''.join(c['source']).strip().strip('-')) or {}

def cell_tags(cell):
    "myst-nb tags for the Quarto options of a code cell (`#| echo: false` ...); the option lines are removed."
    lines, tags = ''.join(cell['source']).splitlines(), set(cell.get('metadata', {}).get('tags', []))
    for l in lines:
        if m := OPTS.match(l):
            k, v = m[1], m[2].lower()
            if k == 'echo' and v == 'false': tags.add('remove-input')
            if k == 'output' and v == 'false': tags.add('remove-output')
            if k == 'include' and v == 'false': tags.add('remove-cell')
    cell['source'] = '\n'.join(l for l in lines if not OPTS.match(l))
    return sorted(tags)

def heading_slugs(nb):
    "The anchors myst gives the headings of a notebook's markdown cells and markdown outputs (show_doc's)."
    texts = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'markdown']
    texts += [''.join(o['data']['text/markdown']) for c in nb['cells'] for o in c.get('outputs', [])
              if 'text/markdown' in o.get('data', {})]
    heads = [m[1] for t in texts for m in re.finditer(r'^#{1,6}\s+(.*?)\s*$', t, re.M)]
    heads = [re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', h).replace('`', '') for h in heads]
    return {re.sub(r'[^\w\- ]', '', h.lower()).replace(' ', '-') for h in heads}

CELL_KEYS = {'markdown': ('cell_type', 'id', 'metadata', 'source', 'attachments'),
             'code': ('cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count')}

def tidy(cell, i):
    "The cell with only the fields nbformat allows (nbdev adds its own) and an id."
    c = {k: v for k, v in cell.items() if k in CELL_KEYS[cell['cell_type']]}
    c.setdefault('id', f'site-{i}'); c.setdefault('metadata', {})
    if c['cell_type'] == 'code': c.setdefault('outputs', []); c.setdefault('execution_count', None)
    return c

class Stager:
    "Writes one Sphinx source folder from nbdev's processed notebooks and extra markdown pages."
    def __init__(self, src: Path, cfg):
        self.src, self.cfg, self.names, self.anchors = src, cfg, {}, {}   # file name -> page name; page -> ids
        self.host = cfg.doc_host.rstrip('/') + '/' + cfg.doc_baseurl.strip('/') + '/'
        self.blob = f"{cfg.git_url.rstrip('/')}/blob/{cfg.branch}/"

    def link(self, url, page_dir: Path, is_img: bool):
        "Where a markdown link or image should point in the site (page_dir: the source's folder in the repo)."
        if url.startswith(self.host):                                  # nbdev's doc links: page.html#anchor
            u = urlsplit(url[len(self.host):])
            page = Path(u.path).stem or 'index'
            if f'{page}.ipynb' not in self.names.values(): return url
            keep = u.fragment in self.anchors.get(page, ())          # a symbol without show_doc: the page
            return f'{page}.ipynb' + (f'#{u.fragment}' if keep else '')
        if re.match(r'^[a-z][\w+.-]*:|^#|^/', url): return url          # external, same-page anchor, absolute
        path, _, frag = url.partition('#')
        if path in self.names: return self.names[path] + (f'#{frag}' if frag else '')
        target = (page_dir / path).resolve()
        try: rel = target.relative_to(ROOT)
        except ValueError: return url
        if str(rel) in EXTRA: return EXTRA[str(rel)] + (f'#{frag}' if frag else '')
        if is_img and target.is_file():                               # copy the image into the site
            dst = self.src / '_files' / rel
            dst.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(target, dst)
            return f'_files/{rel.as_posix()}'
        return self.blob + rel.as_posix() + (f'#{frag}' if frag else '')   # any other repository file: on GitHub

    def markdown(self, text, page_dir: Path):
        "Rewrite links and images; `[x](url){target=... style=...}` (pandoc attributes) becomes an HTML link."
        def sub(m):
            bang, label, url, attrs = m.groups()
            url = self.link(url, page_dir, bool(bang))
            if attrs and not bang:
                kv = ' '.join(f'{k}={v}' for k, v in re.findall(r'([\w-]+)=("[^"]*")', attrs))
                return f'<a href="{url}" {kv}>{label}</a>'
            return f'{bang}[{label}]({url})'
        parts = INCLUDE.split(text)                                     # Quarto's {{< include FILE >}}
        return ''.join(self.markdown((page_dir / p).read_text(), (page_dir / p).parent) if i % 2
                       else MD_LINK.sub(sub, p) for i, p in enumerate(parts))

    def notebook(self, proc: Path, page: str, toc=()):
        nb = json.loads(proc.read_text())
        fm, cells = front_matter(nb), nb['cells']
        if fm: cells = cells[1:]
        if fm.get('title'):                                            # nbdev moved "# title / > summary" here
            head = f"# {fm['title']}\n" + (f"\n> {fm['description']}\n" if fm.get('description') else '')
            cells.insert(0, dict(cell_type='markdown', metadata={}, source=head))
        for c in cells:
            if c['cell_type'] == 'markdown':
                c['source'] = self.markdown(''.join(c['source']), self.cfg.nbs_path)
            elif c['cell_type'] == 'code':
                c.setdefault('metadata', {})['tags'] = cell_tags(c)
                for o in c.get('outputs', []):
                    if 'text/markdown' in o.get('data', {}):
                        md = re.sub(r'^\s*---\s*\n', '', ''.join(o['data']['text/markdown']))  # show_doc's rule
                        o['data']['text/markdown'] = self.markdown(md, self.cfg.nbs_path)
        if toc: cells.append(dict(cell_type='markdown', metadata={},
                                  source='```{toctree}\n:hidden:\n\n' + '\n'.join(toc) + '\n```'))
        nb['cells'] = [tidy(c, i) for i, c in enumerate(cells) if c['cell_type'] != 'raw']
        nb['metadata'].pop('widgets', None)                            # no widget JS from a CDN
        (self.src / f'{page}.ipynb').write_text(json.dumps(nb, indent=1))

    def build(self, proc: Path):
        if self.src.exists(): shutil.rmtree(self.src)
        self.src.mkdir(parents=True)
        nbs = [proc / p.name for g in PAGES for p in sorted(self.cfg.nbs_path.glob(g))]   # not stale cache files
        for p in nbs:
            name = 'index' if p.name == 'index.ipynb' else Path(front_matter(json.loads(p.read_text()))
                                                              .get('output-file', p.stem)).stem
            self.names[p.name] = name + '.ipynb'
            self.anchors[name] = heading_slugs(json.loads(p.read_text()))
        for repo_path, page in EXTRA.items():
            self.names[page] = page
        pages = [Path(n).stem for n in self.names.values() if n != 'index.ipynb']
        for p in nbs: self.notebook(p, Path(self.names[p.name]).stem, toc=pages if p.name == 'index.ipynb' else ())
        for repo_path, page in EXTRA.items():
            f = ROOT / repo_path
            (self.src / page).write_text(self.markdown(f.read_text(), f.parent))

def main(out='_docs'):
    from nbdev.serve import proc_nbs
    cfg = get_config()
    try: proc = Path(proc_nbs(cfg.nbs_path))
    except Exception as e:                                             # a cell nbdev ran for show_doc failed
        cause = f' ({type(e.__cause__).__name__}: {e.__cause__})' if e.__cause__ else ''
        raise SystemExit(f"docs: nbdev could not process the notebooks: {str(e).splitlines()[0]}{cause}\n"
                         "nbdev runs every exported cell, show_doc cell and cell with an import while processing; "
                         "a cell that mixes imports with code needing earlier, unexported cells fails there: "
                         "put its imports in a cell of their own (nbdev's FAQ).") from e
    src = proc / '_sphinx'
    Stager(src, cfg).build(proc)
    return render(src, ROOT / out)

def render(src: Path, out: Path):
    "sphinx-build `src` into `out` (myst-nb writes beside its output folder, so build in `_proc/` and move)."
    html = src.parent / '_html' / 'site'
    if html.parent.exists(): shutil.rmtree(html.parent)
    cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-E', '-c', str(ROOT / 'docs'), str(src), str(html)]
    subprocess.run(cmd, check=True, cwd=ROOT)
    shutil.rmtree(html / '.doctrees', ignore_errors=True)
    (html / '.nojekyll').touch()
    if out.exists(): shutil.rmtree(out)
    shutil.move(html, out)
    return out

if __name__ == '__main__': print(main(*sys.argv[1:]))
