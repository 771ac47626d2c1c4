"""Reproductions of the papers' identifiability figures, and the demo.

One module per paper sweep (:mod:`~nlica.experiments.tcl`, :mod:`~nlica.experiments.pcl`,
:mod:`~nlica.experiments.slowvae`,
:mod:`~nlica.experiments.ivae`), each a ``run_*_experiment`` function that returns one
row per (method, setting, seed) and a ``report`` that prints and saves the tables and
figures; :mod:`~nlica.experiments.demo` holds :func:`run_demo`. They share one runner
(jobs over cores and GPUs, progress, tables). Command line:
``python -m nlica experiment tcl|pcl|slowvae|ivae --help`` and ``python -m nlica demo``.
"""

from . import demo, ivae, pcl, slowvae, tcl
from ._runner import summarize
from .demo import run_demo
from .ivae import run_ivae_experiment
from .pcl import run_pcl_experiment
from .slowvae import run_slowvae_experiment
from .tcl import run_tcl_experiment

__all__ = [
    "run_tcl_experiment",
    "run_pcl_experiment",
    "run_slowvae_experiment",
    "run_ivae_experiment",
    "run_demo",
    "summarize",
    "demo",
    "ivae",
    "pcl",
    "slowvae",
    "tcl",
]
