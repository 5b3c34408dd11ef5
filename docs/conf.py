"""Sphinx configuration of the documentation site (built by `docs/build_site.py`; `nbdev_docs` where Quarto exists).

The site is self-contained: it loads nothing from the network (no widget scripts from a CDN, and MathJax,
which Sphinx loads from one, only on a page with math: these pages have none, and the test would catch one),
so it reads the same offline and the browser test (`nbs/tests/test_site.py`) sees no console error."""
from nbdev.config import get_config

cfg = get_config()
project, author, copyright = cfg.title, cfg.author, cfg.copyright
release = version = cfg.version
html_title = f'{cfg.title} {cfg.version}'

extensions = ['myst_nb']
exclude_patterns = ['_build', '**.ipynb_checkpoints']
root_doc = 'index'

nb_execution_mode = 'off'                  # render the outputs the notebooks keep; never execute them
nb_render_markdown_format = 'myst'         # nbdev's show_doc output is markdown
nb_ipywidgets_js = {}                      # no widget scripts from a CDN
nb_merge_streams = True
myst_enable_extensions = ['colon_fence', 'attrs_inline']
myst_heading_anchors = 3                   # `page.ipynb#name` links to a show_doc heading
suppress_warnings = ['myst.header']        # show_doc's `###` headings under a notebook's `##`

html_theme = 'furo'
html_static_path = []
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {'source_repository': cfg.git_url + '/', 'source_branch': cfg.branch, 'source_directory': 'nbs/'}
