"""The documentation site, built here without Quarto (`docs/build_site.py`: Sphinx + myst-nb over nbdev's processed
notebooks, never executing them) and opened in headless Chromium (`docs/check_site.py`): every page loads with no
console error and no request off the machine, no image is broken, no internal link or anchor dangles."""
import json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'docs'))
from check_site import check_site, find_chromium, site_pages

@pytest.fixture(scope='module')
def site():
    r = subprocess.run([sys.executable, 'docs/build_site.py'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f'docs/build_site.py failed:\n{(r.stdout + r.stderr)[-6000:]}'
    return ROOT / '_docs'

def test_every_notebook_has_a_page(site):
    nbs = sorted((ROOT / 'nbs').glob('0*.ipynb'))
    pages = {p.name for p in site_pages(site)}
    for nb in nbs:
        raw = json.loads((ROOT / '_proc' / nb.name).read_text())['cells'][0]
        name = next(l.split(':', 1)[1].strip() for l in raw['source'] if l.startswith('output-file:'))
        assert name in pages, f'{nb.name}: no page {name} in {sorted(pages)}'
    assert {'index.html', 'reports.html'} <= pages
    index = (site / 'index.html').read_text()
    assert 'Two commands' in index, 'the index page does not carry the README'
    assert 'token_reduction.png' in index, "the index page lost the token-reduction figure"

@pytest.mark.skipif(not find_chromium(), reason='chromium is not installed (apt-get install chromium; .ci/test.sh does it as root)')
def test_site_in_headless_chromium(site, tmp_path):
    shot = tmp_path / 'index.png'
    res = check_site(site, screenshot=shot)
    bad = {page: found for page, found in res.items() if found}
    assert not bad, 'site problems:\n' + '\n'.join(f'{p}: {f}' for p, found in bad.items() for f in found)
    assert len(res) == len(site_pages(site)) and 'index.html' in res
    assert shot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and shot.stat().st_size > 10_000, 'blank index screenshot'
