"""Check a built documentation site in headless Chromium: every page loads with no console error, no failed or
external request, no broken image, and no internal link or anchor that dangles. Optionally screenshots the index.

Talks to Debian's `chromium` over the DevTools protocol on a pipe (`--remote-debugging-pipe`): no driver, no port,
no Python package beyond the standard library. Usage: `python docs/check_site.py [SITE] [--screenshot PNG]`."""
import argparse, base64, fcntl, json, os, queue, re, shutil, subprocess, tempfile, threading, time
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHECK_JS = """(async () => {
  const imgs = [...document.images];
  imgs.forEach(i => i.loading = 'eager');
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return {images: imgs.map(i => [i.currentSrc || i.src, i.naturalWidth]),
          links: [...document.querySelectorAll('a[href]')].map(a => a.href)};
})()"""

def find_chromium():
    "The Chromium binary (Debian's `chromium`), or None."
    return next(filter(None, map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome'))), None)

class Chromium:
    "A headless Chromium driven over the DevTools protocol on a pipe (fd 3: commands in, fd 4: messages out)."
    def __init__(self, binary=None, timeout=30):
        self.binary, self.timeout = binary or find_chromium(), timeout
        if not self.binary: raise FileNotFoundError('chromium not found: apt-get install chromium')

    def __enter__(self):
        cmd_r, self._w = os.pipe(); self._r, msg_w = os.pipe()
        def child_fds():                                   # commands on fd 3, messages on fd 4
            a, b = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(msg_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3); os.dup2(b, 4)
        self._profile = tempfile.mkdtemp(prefix='clipa-chromium-')
        self.proc = subprocess.Popen(
            [self.binary, '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
             '--disable-extensions', '--disable-background-networking', '--disable-component-update', '--disable-sync',
             '--disable-dev-shm-usage', '--mute-audio', '--remote-debugging-pipe', f'--user-data-dir={self._profile}',
             'about:blank'],
            pass_fds=(3, 4), preexec_fn=child_fds, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r); os.close(msg_w)
        self._id, self._msgs, self._pending = 0, queue.Queue(), []
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def __exit__(self, *exc):
        try: self.send('Browser.close')
        except Exception: pass
        try: self.proc.wait(10)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        os.close(self._w); shutil.rmtree(self._profile, ignore_errors=True)

    def _read(self):
        buf = b''
        with os.fdopen(self._r, 'rb', buffering=0) as f:
            while chunk := f.read(1 << 16):
                buf += chunk
                *msgs, buf = buf.split(b'\0')
                for m in msgs: self._msgs.put(json.loads(m))
        self._msgs.put(None)

    def _next(self, deadline):
        m = self._msgs.get(timeout=max(0.01, deadline - time.monotonic()))
        if m is None: raise RuntimeError('chromium exited')
        return m

    def send(self, method, session=None, **params):
        "Send one command and return its result; events that arrive meanwhile are kept for `events`."
        self._id += 1; mid = self._id
        msg = dict(id=mid, method=method, params=params, **({'sessionId': session} if session else {}))
        os.write(self._w, json.dumps(msg).encode() + b'\0')
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._next(deadline)
            if m.get('id') == mid:
                if 'error' in m: raise RuntimeError(f"{method}: {m['error']}")
                return m.get('result', {})
            self._pending.append(m)

    def events(self, until=None, wait=0.0):
        "Events so far, then more for `wait` seconds or until one named `until` arrives."
        deadline = time.monotonic() + (self.timeout if until else wait)
        seen = False
        while not seen and time.monotonic() < deadline:
            try: m = self._next(deadline)
            except queue.Empty: break
            self._pending.append(m); seen = m.get('method') == until
        if until and not seen: raise TimeoutError(f'no {until} within {self.timeout}s')
        out, self._pending = self._pending, []
        return out

def problems_in(events):
    "Console errors, uncaught exceptions, failed requests and requests that leave the machine, as lines."
    urls, out = {}, []
    for e in events:
        m, p = e.get('method'), e.get('params', {})
        if m == 'Network.requestWillBeSent':
            url = urls[p['requestId']] = p['request']['url']
            if not url.startswith(('file:', 'data:', 'about:', 'blob:')): out.append(f'external request: {url}')
        elif m == 'Network.loadingFailed' and not p.get('canceled'):
            out.append(f"failed to load {urls.get(p['requestId'], '?')}: {p.get('errorText')}")
        elif m == 'Runtime.exceptionThrown':
            d = p['exceptionDetails']
            out.append(f"uncaught: {d.get('exception', {}).get('description') or d.get('text')}")
        elif m == 'Runtime.consoleAPICalled' and p['type'] in ('error', 'assert'):
            out.append('console.error: ' + ' '.join(str(a.get('value', a.get('description', ''))) for a in p['args']))
        elif m == 'Log.entryAdded' and p['entry']['level'] == 'error':
            out.append(f"console: {p['entry']['text']} {p['entry'].get('url', '')}".strip())
    return list(dict.fromkeys(out))

def ids_in(html_file: Path):
    return set(re.findall(r'\bid="([^"]+)"', html_file.read_text(errors='replace')))

def check_page(browser, site: Path, page: Path, screenshot=None, size=(1280, 900)):
    "Open one page in a fresh tab; return the list of its problems (empty when it is fine)."
    target = browser.send('Target.createTarget', url='about:blank')['targetId']
    s = browser.send('Target.attachToTarget', targetId=target, flatten=True)['sessionId']
    try:
        for domain in ('Page', 'Runtime', 'Log', 'Network'): browser.send(f'{domain}.enable', s)
        browser.send('Emulation.setDeviceMetricsOverride', s, width=size[0], height=size[1], deviceScaleFactor=1,
                     mobile=False)
        browser.send('Page.navigate', s, url=page.resolve().as_uri())
        events = browser.events(until='Page.loadEventFired')
        res = browser.send('Runtime.evaluate', s, expression=CHECK_JS, awaitPromise=True, returnByValue=True)
        events += browser.events(wait=0.3)                 # and late console messages
        found = problems_in([e for e in events if e.get('sessionId') in (s, None)])
        if 'exceptionDetails' in res: found.append(f"check script failed: {res['exceptionDetails']}")
        info = res.get('result', {}).get('value') or {'images': [], 'links': []}
        found += [f'broken image: {src}' for src, w in info['images'] if not w]
        root = site.resolve()
        for href in dict.fromkeys(info['links']):
            u = urlsplit(href)
            if u.scheme != 'file': continue
            f = Path(unquote(u.path))
            if root not in (f, *f.parents): found.append(f'link outside the site: {href}'); continue
            if f.is_dir(): f = f / 'index.html'
            if not f.exists(): found.append(f'dangling link: {href}'); continue
            if u.fragment and f.suffix == '.html' and unquote(u.fragment) not in ids_in(f):
                found.append(f'dangling anchor: {href}')
        if screenshot:
            png = browser.send('Page.captureScreenshot', s, format='png')['data']
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            Path(screenshot).write_bytes(base64.b64decode(png))
        return found
    finally:
        browser.send('Target.closeTarget', targetId=target)

def site_pages(site: Path):
    "Every HTML page of the site, index first (Sphinx's own folders of assets and sources left out)."
    pages = sorted(p for p in site.rglob('*.html') if not any(part.startswith('_') for part in p.relative_to(site).parts))
    return sorted(pages, key=lambda p: p.name != 'index.html')

def check_site(site='_docs', screenshot=None):
    "{page: [problems]} for every page of `site`; the index page is screenshot into `screenshot` if given."
    site = Path(site)
    if not (site / 'index.html').exists(): raise FileNotFoundError(f'{site}/index.html not found: build the site first')
    with Chromium() as browser:
        return {str(p.relative_to(site)): check_page(browser, site, p, screenshot if p.name == 'index.html' and
                p.parent == site else None) for p in site_pages(site)}

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('site', nargs='?', default='_docs')
    ap.add_argument('--screenshot', help='write a PNG of the index page here')
    a = ap.parse_args(argv)
    try: res = check_site(a.site, a.screenshot)
    except FileNotFoundError as e: ap.exit(2, f'check_site: error: {e}\n')
    for page, found in res.items():
        for f in found: print(f'{page}: {f}')
    bad = sum(map(bool, res.values()))
    print(f'site check: {len(res)} pages, {bad} with problems' + (f', index screenshot in {a.screenshot}' if a.screenshot else ''))
    return 1 if bad else 0

if __name__ == '__main__': raise SystemExit(main())
