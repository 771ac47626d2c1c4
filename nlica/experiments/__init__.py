"""Reproductions of the papers' identifiability figures, and the demo.

One module per paper sweep (:mod:`~nlica.experiments.tcl`, :mod:`~nlica.experiments.pcl`,
:mod:`~nlica.experiments.slowvae`), each a ``run_*_experiment`` function that returns one
row per (method, setting, seed) and a ``report`` that prints and saves the tables and
figures; :mod:`~nlica.experiments.demo` holds :func:`run_demo`. They share one runner
(jobs over cores and GPUs, progress, tables). Command line:
``python -m nlica experiment tcl|pcl|slowvae --help`` and ``python -m nlica demo``.
"""

from . import demo, pcl, slowvae, tcl
from ._runner import summarize
from .demo import run_demo
from .pcl import run_pcl_experiment
from .slowvae import run_slowvae_experiment
from .tcl import run_tcl_experiment

__all__ = [
    "run_tcl_experiment",
    "run_pcl_experiment",
    "run_slowvae_experiment",
    "run_demo",
    "summarize",
    "demo",
    "pcl",
    "slowvae",
    "tcl",
]
