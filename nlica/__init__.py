"""nlica: linear and nonlinear independent component analysis with a scikit-learn API.

Estimators
----------
FastICA, TCL, PCL, SlowVAE, IVAE share the scikit-learn transformer contract; the neural ones
train in PyTorch on the CPU or a GPU.

Submodules ``metrics``, ``datasets`` and ``experiments`` are imported on first use so that
``import nlica`` stays light.
"""

import importlib

from ._fastica import FastICA
from ._fastica_function import fastica
from ._training import TrainingDivergedError
from ._version import __version__

_LAZY_SUBMODULES = {
    "metrics",
    "datasets",
    "diagnostics",
    "experiments",
    "utils",
    "nn",
    "losses",
    "samplers",
    "plotting",
    "integrations",
}
_LAZY_ATTRS = {
    "TCL": "._tcl",
    "PCL": "._pcl",
    "SlowVAE": "._slowvae",
    "IVAE": "._ivae",
    "load": ".io",
}

__all__ = [
    "FastICA",
    "fastica",
    "TCL",
    "PCL",
    "SlowVAE",
    "IVAE",
    "TrainingDivergedError",
    "load",
    "metrics",
    "datasets",
    "__version__",
]


def __getattr__(name):
    # PEP 562: defer heavy or optional submodules until they are asked for.
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_ATTRS:
        module = importlib.import_module(_LAZY_ATTRS[name], __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'nlica' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY_SUBMODULES | set(_LAZY_ATTRS))
