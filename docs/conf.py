"""Sphinx configuration of the nlica documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import torch  # noqa: E402

import nlica  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_inventories"))
from make_inventories import INVENTORIES  # noqa: E402

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
# numpydoc validation of every documented object: all checks but See Also sections,
# extended summaries, examples in methods (classes and functions have theirs, tested by
# tests/test_docstrings.py) and the named-returns style ("self : TCL").
numpydoc_validation_checks = {"all", "SA01", "ES01", "EX01", "RT02"}
# Not validated: torch modules' forward (documented by the class, called as module(x)) and
# the methods nlica.nn's modules inherit from torch.nn.Module (torch's docstrings).
numpydoc_validation_exclude = {
    r"\.forward$",
    # The __init__ that dataclass writes: its parameters are documented by the class.
    r"^nlica\.\w+\.\w+\.__init__$",
    r"^nlica\.nn\.\w+\.("
    + "|".join(name for name in dir(torch.nn.Module) if not name.startswith("_"))
    + r")$",
}
exclude_patterns = [
    "_build",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.codeobj.json",
]
html_theme = "alabaster"
# The build has no network: each project's inventory is the small one shipped in
# docs/_inventories (the targets the docs reference), tried before the project's own.
_INV = os.path.join(os.path.dirname(__file__), "_inventories")
intersphinx_mapping = {
    name: (url, (os.path.join(_INV, f"{name}.inv"), None))
    for name, (_, url, _) in INVENTORIES.items()
}

# Examples run in quick mode when NLICA_QUICK is set (CI); the gallery otherwise runs them
# as they are.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
}
