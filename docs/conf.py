"""Sphinx configuration of the nlica documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import nlica  # noqa: E402

project = "nlica"
author = "the nlica developers"
copyright = "2026, the nlica developers"
release = nlica.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5", "auto_examples/*.codeobj.json"]
html_theme = "alabaster"
intersphinx_mapping = {}

# Examples run in quick mode when NLICA_QUICK is set (CI); the gallery otherwise runs them
# as they are.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
}
