"""Every public object has a numpydoc docstring with an Examples section (run as doctests)."""

import importlib
import importlib.util
import inspect

import pytest

import nlica

MODULES = [
    "nlica",
    "nlica.metrics",
    "nlica.diagnostics",
    "nlica.datasets",
    "nlica.plotting",
    "nlica.losses",
    "nlica.samplers",
    "nlica.nn",
    "nlica.utils",
    "nlica.io",
    "nlica.experiments",
]
if importlib.util.find_spec("mne") is not None:  # an optional extra
    MODULES.append("nlica.integrations.mne")


def _public_objects():
    seen = []
    for mod_name in MODULES:
        module = importlib.import_module(mod_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or isinstance(obj, (str, tuple)):
                continue
            seen.append((f"{mod_name}.{name}", obj))
    return seen


@pytest.mark.parametrize(
    "qualname, obj", _public_objects(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_public_object_has_docstring_with_example(qualname, obj):
    doc = inspect.getdoc(obj) or ""
    assert len(doc.splitlines()) >= 3, f"{qualname} needs a docstring"
    assert "Examples\n--------" in doc, f"{qualname} needs an Examples section"
    assert ">>>" in doc, f"{qualname} needs a runnable example"


def test_every_estimator_method_is_documented():
    for cls in (nlica.FastICA, nlica.TCL, nlica.PCL, nlica.SlowVAE):
        for name in ("fit", "transform"):
            assert inspect.getdoc(getattr(cls, name)), f"{cls.__name__}.{name}"
