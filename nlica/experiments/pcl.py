"""PCL's identifiability figure: MCC against mixing depth.

After the depth experiment of Hyvärinen & Morioka (2017); see the docs page "Settings of
the papers".
"""

from .._pcl import PCL
from ..datasets import make_pcl_dataset
from . import _runner

__all__ = ["run_pcl_experiment", "report"]

REPORT_RULE = "Pearson, estimate vs s, Hungarian matching"


def _job(n_layers, seed, *, n_sources, n_samples, device, n_jobs, estimator_params):
    _runner.limit_threads(n_jobs)
    data = make_pcl_dataset(
        n_sources=n_sources, n_layers=n_layers, n_samples=n_samples, random_state=seed
    )

    score = _runner.pearson_mcc(data.S)
    est = PCL(n_layers=n_layers, random_state=seed, device=device, **estimator_params)
    rows = [
        _runner.timed_row("PCL", est, data.X, score)[0],
        _runner.fastica_row(data.X, seed, score),
    ]
    for r in rows:
        r.update(n_layers=n_layers, seed=seed, device=str(device), rule="pearson vs s")
    return rows


@_runner.runner_docs
def run_pcl_experiment(
    layers=(1, 2, 3, 4, 5),
    *,
    n_seeds=3,
    n_sources=5,
    n_samples=2**15,
    device="cpu",
    n_jobs=1,
    verbose=0,
    estimator_params=None,
    progress=False,
):
    """MCC of PCL (and FastICA) against mixing depth.

    Reproduces the depth experiment of Hyvärinen & Morioka (2017); the paper's scale is
    ``n_sources=20, n_samples=2**18``.

    Parameters
    ----------
    layers : sequence of int
        Mixing depths (the PCL network is as deep).
    n_seeds : int, default=3
        Seeds per depth.
    n_sources : int, default=5
        Number of sources.
    n_samples : int, default=2**15
        Length of the recording.
    <runner parameters>
    estimator_params : dict, default=None
        Extra :class:`~nlica.PCL` parameters.
    <progress>

    Returns
    -------
    rows : list of dict
        One row per (method, depth, seed); MCC rule Pearson against ``s``.

    Examples
    --------
    >>> rows = run_pcl_experiment([1], n_seeds=1, n_samples=2048,
    ...                           estimator_params={"max_iter": 50})  # doctest: +SKIP
    """
    layers = _runner.check_sweep(layers, "layers", n_seeds)
    kwargs = {
        "n_sources": n_sources,
        "n_samples": n_samples,
        "estimator_params": dict(estimator_params or {}),
    }
    settings = [(_job, (n_layers,), kwargs, f"L={n_layers}") for n_layers in layers]
    return _runner.sweep_rows(
        settings, n_seeds, device, n_jobs, verbose, progress, "pcl experiment"
    )


def _plot(rows):
    return _runner.plot_by_depth(rows, "PCL vs FastICA by mixing depth", "Pearson vs s")


def report(rows, out_dir):
    """Print and save (``pcl_experiment.*`` in ``out_dir``) :func:`run_pcl_experiment` rows."""
    return _runner.report(rows, out_dir, "pcl_experiment", ["n_layers"], REPORT_RULE, _plot)
