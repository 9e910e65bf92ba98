# Sphinx configuration for the nova-virtlogd release notes.
#
# Plain Sphinx with a builtin theme; the notes themselves are YAML files in
# releasenotes/changes, rendered by reno's ``release-notes`` directive. reno
# reads them from the git history, so only committed notes appear.

project = 'nova-virtlogd Release Notes'
copyright = 'nova-virtlogd developers'
author = 'nova-virtlogd developers'

extensions = [
    'reno.sphinxext',
]

templates_path = []
exclude_patterns = []
source_suffix = {'.rst': 'restructuredtext'}
root_doc = 'index'
language = 'en'

html_theme = 'alabaster'
html_static_path = []
html_title = 'nova-virtlogd release notes'
