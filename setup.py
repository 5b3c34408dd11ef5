from configparser import ConfigParser
from pathlib import Path
from setuptools.command.build_py import build_py
import setuptools, shlex, shutil


class build_py_with_studies(build_py):
    "Also copy the shipped studies (nbs/studies) and stage notebooks (nbs/experiments) into the wheel's clipa/."
    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False): return      # an editable install reads them from the checkout
        for kind, patterns in (('studies', ('*.yaml', '*.yml', '*.json')), ('experiments', ('*.ipynb',))):
            src, dst = Path(__file__).parent / 'nbs' / kind, Path(self.build_lib) / 'clipa' / kind
            files = sorted(f for p in patterns for f in src.glob(p))
            if not files: raise RuntimeError(f"no shipped {kind} in {src}: build the wheel from a checkout (or an sdist made by it)")
            shutil.rmtree(dst, ignore_errors=True); dst.mkdir(parents=True)   # a deleted study must not ship from an old build
            for f in files: shutil.copy2(f, dst / f.name)


# note: all settings are in settings.ini; edit there, not here
config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

cfg_keys = 'version description keywords author author_email'.split()
expected = cfg_keys + "lib_name user branch license status min_python audience language".split()
for o in expected: assert o in cfg, "missing expected setting: {}".format(o)
setup_cfg = {o:cfg[o] for o in cfg_keys}

licenses = {
    'apache2': ('Apache Software License 2.0','OSI Approved :: Apache Software License'),
}
statuses = [ '1 - Planning', '2 - Pre-Alpha', '3 - Alpha',
    '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive' ]
py_versions = '3.10 3.11 3.12 3.13'.split()

requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
lic = licenses[cfg['license'].lower()]
min_python = cfg['min_python']
lic = licenses.get(cfg['license'].lower(), (cfg['license'], None))
console_scripts = cfg.get('console_scripts','').split()
console_scripts = [s for s in cfg.get('console_scripts','').splitlines() if s.strip()]

setuptools.setup(
    name = cfg['lib_name'],
    license = lic[0],
    classifiers = [
        'Development Status :: ' + statuses[int(cfg['status'])],
        'Intended Audience :: ' + cfg['audience'].title(),
        'Natural Language :: ' + cfg['language'].title(),
    ] + ['Programming Language :: Python :: '+o for o in py_versions[py_versions.index(min_python):]],
    url = cfg['git_url'],
    packages = setuptools.find_packages(include=['clipa', 'clipa.*']),
    include_package_data = True,
    cmdclass = {'build_py': build_py_with_studies},
    install_requires = requirements,
    extras_require={ 'dev': dev_requirements },
    dependency_links = cfg.get('dep_links','').split(),
    python_requires  = '>=' + cfg['min_python'],
    long_description = open('README.md', encoding='utf-8').read(),
    long_description_content_type = 'text/markdown',
    zip_safe = False,
    entry_points = {
        'console_scripts': console_scripts,
        'nbdev': [f'{cfg.get("lib_path")}={cfg.get("lib_path")}._modidx:d']
    },
    **setup_cfg)
