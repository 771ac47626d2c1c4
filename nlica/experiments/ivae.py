"""iVAE's depth sweep: MCC against mixing depth, beside TCL and FastICA on the same data.

After the depth experiment of Khemakhem et al. (2020), on TCL's data (Laplace sources
whose scales change per segment); see the docs page "Settings of the papers".
"""

import numpy as np

from .._ivae import IVAE
from .._tcl import TCL
from ..datasets import make_tcl_dataset
from . import _runner

__all__ = ["run_ivae_experiment", "report", "add_noise"]

REPORT_RULE = (
    "Pearson, Hungarian matching: IVAE and FastICA estimate vs s; TCL (its own rule) "
    "estimate vs |s|"
)


def add_noise(X, snr_db, random_state):
    """Return ``X`` plus white Gaussian noise at ``snr_db`` decibels per feature.

    Each feature gets noise of variance ``var(X[:, j]) / 10 ** (snr_db / 10)``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Noiseless observations.
    snr_db : float
        Signal-to-noise ratio in decibels.
    random_state : int
        Seed of the noise.

    Returns
    -------
    X_noisy : ndarray of shape (n_samples, n_features)
        The noisy observations.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((10000, 2))
    >>> noisy = add_noise(X, 20.0, 0)
    >>> round(float(np.var(noisy - X) / np.var(X)), 2)
    0.01
    """
    rng = np.random.default_rng(random_state)
    sd = X.std(axis=0) / np.sqrt(10.0 ** (float(snr_db) / 10.0))
    return X + rng.standard_normal(X.shape) * sd


def _job(
    n_layers,
    seed,
    *,
    n_sources,
    n_segments,
    segment_length,
    snr_db,
    baselines,
    device,
    n_jobs,
    estimator_params,
    baseline_params,
):
    _runner.limit_threads(n_jobs)
    data = make_tcl_dataset(n_sources, n_layers, n_segments, segment_length, random_state=seed)
    # The noise has its own stream: the noiseless and noisy sweeps share sources and mixing.
    X = data.X if snr_db is None else add_noise(data.X, snr_db, 10_000 + seed)
    score_s = _runner.pearson_mcc(data.S)
    common = {"n_layers": n_layers, "random_state": seed, "device": device}
    ivae = IVAE(**common, **estimator_params)
    rows = [{**_runner.timed_row("IVAE", ivae, X, score_s, segments=data.segments)[0]}]
    rows[0]["rule"] = "pearson vs s"
    if "TCL" in baselines:
        tcl = TCL(**common, **baseline_params)
        row = _runner.timed_row(
            "TCL",
            tcl,
            X,
            _runner.pearson_mcc(np.abs(data.S)),
            magnitudes=True,
            segments=data.segments,
        )[0]
        rows.append({**row, "rule": "pearson vs |s|"})
    if "FastICA" in baselines:
        rows.append({**_runner.fastica_row(X, seed, score_s), "rule": "pearson vs s"})
    for r in rows:
        r.update(
            n_layers=n_layers,
            seed=seed,
            device=str(device),
            snr_db="inf" if snr_db is None else float(snr_db),
        )
    return rows


def _check_baselines(baselines):
    if baselines is True:
        return ("TCL", "FastICA")
    if baselines is False or baselines is None:
        return ()
    if isinstance(baselines, str) or not hasattr(baselines, "__iter__"):
        raise TypeError(
            "baselines must be True, False or a sequence of names among 'TCL' and 'FastICA'; "
            f"got {baselines!r}."
        )
    names = tuple(baselines)
    unknown = [b for b in names if b not in ("TCL", "FastICA")]
    if unknown:
        raise ValueError(f"baselines: unknown {unknown}; choose among 'TCL' and 'FastICA'.")
    return names


@_runner.runner_docs
def run_ivae_experiment(
    layers=(1, 2, 3, 4),
    *,
    n_seeds=3,
    n_sources=5,
    n_segments=64,
    segment_length=512,
    snr_db=None,
    baselines=True,
    baseline_params=None,
    device="cpu",
    n_jobs=1,
    verbose=0,
    estimator_params=None,
    progress=False,
):
    """MCC of IVAE, TCL and FastICA against mixing depth, on the same data.

    The data is :func:`~nlica.datasets.make_tcl_dataset`'s: Laplace sources whose scales
    change per segment, mixed by a leaky-ReLU MLP as deep as the networks; IVAE and TCL
    are fitted with the segment labels. The paper's depth experiment used Gaussian
    sources, 40 segments of 1000 samples and 5 sources.

    Parameters
    ----------
    layers : sequence of int
        Mixing depths (the IVAE and TCL networks are as deep).
    n_seeds : int, default=3
        Seeds per depth.
    n_sources : int, default=5
        Number of sources.
    n_segments : int, default=64
        Number of segments.
    segment_length : int, default=512
        Samples per segment.
    snr_db : float, default=None
        Add white Gaussian observation noise at this signal-to-noise ratio (decibels, per
        feature) after the mixing; ``None``: noiseless.
    baselines : bool or sequence of {"TCL", "FastICA"}, default=True
        The methods fitted beside IVAE on the same data: ``True`` both, ``False`` none.
    baseline_params : dict, default=None
        Extra :class:`~nlica.TCL` parameters (e.g. ``{"max_iter": 500}`` for a smoke
        test); ``None``: TCL at its defaults.
    <runner parameters>
    estimator_params : dict, default=None
        Extra :class:`~nlica.IVAE` parameters.
    <progress>

    Returns
    -------
    rows : list of dict
        One row per (method, depth, seed) with ``mcc``, ``seconds`` and ``rule``: Pearson
        against ``s`` for IVAE and FastICA, against ``|s|`` for TCL (which recovers
        ``|s|``).

    Examples
    --------
    >>> rows = run_ivae_experiment([1], n_seeds=1, n_segments=8, segment_length=64,
    ...                            estimator_params={"max_iter": 50},
    ...                            baseline_params={"max_iter": 50})  # doctest: +SKIP
    """
    layers = _runner.check_sweep(layers, "layers", n_seeds)
    if snr_db is not None and not np.isfinite(float(snr_db)):
        raise ValueError(f"snr_db must be a finite number of decibels or None; got {snr_db!r}.")
    kwargs = {
        "n_sources": n_sources,
        "n_segments": n_segments,
        "segment_length": segment_length,
        "snr_db": snr_db,
        "baselines": _check_baselines(baselines),
        "estimator_params": dict(estimator_params or {}),
        "baseline_params": dict(baseline_params or {}),
    }
    settings = [(_job, (n_layers,), kwargs, f"L={n_layers}") for n_layers in layers]
    return _runner.sweep_rows(
        settings, n_seeds, device, n_jobs, verbose, progress, "ivae experiment"
    )


def _plot(rows):
    snr = rows[0]["snr_db"]
    title = "IVAE, TCL and FastICA by mixing depth" + ("" if snr == "inf" else f" ({snr:g} dB)")
    return _runner.plot_by_depth(rows, title, "Pearson vs s (TCL: vs |s|)")


def report(rows, out_dir):
    """Print and save (``ivae_experiment.*`` in ``out_dir``) :func:`run_ivae_experiment` rows."""
    return _runner.report(rows, out_dir, "ivae_experiment", ["n_layers"], REPORT_RULE, _plot)
