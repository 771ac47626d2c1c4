"""TCL's identifiability figure: MCC against the number of segments, a curve per depth.

After Figure 2 of Hyvärinen & Morioka (2016); see the docs page "Settings of the papers".
"""

import numpy as np

from .._tcl import TCL
from ..datasets import make_tcl_dataset
from ..plotting import _plt, plot_mcc_curves
from . import _runner

__all__ = ["run_tcl_experiment", "report"]

RULE = "pearson vs |s| (FastICA, linear TCL: |estimate|)"
REPORT_RULE = (
    "Pearson, estimate vs |s| (FastICA and the linear TCL model: |estimate|), Hungarian matching"
)


def _job(
    n_layers, n_segments, seed, *, n_sources, segment_length, device, n_jobs, estimator_params
):
    _runner.limit_threads(n_jobs)
    data = make_tcl_dataset(n_sources, n_layers, n_segments, segment_length, random_state=seed)
    target = np.abs(data.S)

    est = TCL(n_layers=n_layers, random_state=seed, device=device, **estimator_params)
    row, _ = _runner.timed_row(
        "TCL", est, data.X, _runner.pearson_mcc(target), magnitudes=True, segments=data.segments
    )
    rows = [row, _runner.fastica_row(data.X, seed, _runner.pearson_mcc(target, absolute=True))]
    for r in rows:
        r.update(n_layers=n_layers, n_segments=n_segments, seed=seed, device=str(device), rule=RULE)
    return rows


@_runner.runner_docs
def run_tcl_experiment(
    layers=(1, 2, 3, 4, 5),
    segments=(8, 16, 32, 64, 128, 256),
    *,
    n_seeds=3,
    n_sources=5,
    segment_length=256,
    device="cpu",
    n_jobs=1,
    verbose=0,
    estimator_params=None,
    progress=False,
):
    """MCC of TCL (and FastICA) against the number of segments, one curve per depth.

    Reproduces Figure 2 of Hyvärinen & Morioka (2016) at a chosen scale; the paper's scale
    is ``n_sources=20, segment_length=512``.

    Parameters
    ----------
    layers : sequence of int
        Mixing depths (the TCL network is as deep).
    segments : sequence of int
        Numbers of segments.
    n_seeds : int, default=3
        Seeds per setting (0, 1, ...).
    n_sources : int, default=5
        Number of sources.
    segment_length : int, default=256
        Samples per segment.
    <runner parameters>
    estimator_params : dict, default=None
        Extra :class:`~nlica.TCL` parameters (e.g. ``{"preset": "paper"}``;
        ``{"verbose": 2}`` adds each fit's own progress bar).
    <progress>

    Returns
    -------
    rows : list of dict
        One row per (method, depth, segments, seed) with ``mcc`` and ``seconds``; the MCC
        rule is Pearson against ``|s|`` (FastICA: its absolute estimates).

    Examples
    --------
    >>> rows = run_tcl_experiment([1], [4], n_seeds=1, segment_length=64,
    ...                           estimator_params={"max_iter": 50})  # doctest: +SKIP
    """
    layers = _runner.check_sweep(layers, "layers", n_seeds)
    segments = _runner.check_sweep(segments, "segments", n_seeds)
    kwargs = {
        "n_sources": n_sources,
        "segment_length": segment_length,
        "estimator_params": dict(estimator_params or {}),
    }
    settings = [
        (_job, (n_layers, n_segments), kwargs, f"L={n_layers} segments={n_segments}")
        for n_layers in layers
        for n_segments in segments
    ]
    return _runner.sweep_rows(
        settings, n_seeds, device, n_jobs, verbose, progress, "tcl experiment"
    )


def _plot(rows):
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, method in zip(axes, ("TCL", "FastICA")):
        plot_mcc_curves(
            [r for r in rows if r["method"] == method],
            x="n_segments",
            curve="n_layers",
            ax=ax,
            title=method,
            rule="Pearson vs |s|",
        )
        ax.set_xscale("log", base=2)
    fig.tight_layout()
    return fig


def report(rows, out_dir):
    """Print and save (``tcl_experiment.*`` in ``out_dir``) :func:`run_tcl_experiment` rows."""
    keys = ["n_layers", "n_segments"]
    return _runner.report(rows, out_dir, "tcl_experiment", keys, REPORT_RULE, _plot)
