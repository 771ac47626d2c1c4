"""Reproductions of the papers' identifiability figures, as sweeps over depth and settings.

Each run is one (setting, seed) job; jobs go through :class:`joblib.Parallel`, so
``n_jobs`` spreads them over local cores and a dask or ray joblib backend
(``with joblib.parallel_backend("dask"): ...``) spreads them over a cluster. With
``device="cuda"`` jobs are assigned round-robin to the visible GPUs; several jobs may share
one GPU safely (each has its own CUDA context and memory).

Command line: ``python -m nlica experiment tcl|pcl|slowvae --help``.
"""

import argparse
import csv
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from .metrics import mean_corr_coef

__all__ = ["run_tcl_experiment", "run_pcl_experiment", "run_slowvae_experiment", "main"]


def _job_device(device, index):
    """Round-robin CUDA devices over jobs; other devices pass through."""
    if device not in ("cuda", "auto"):
        return device
    import torch

    n_gpus = torch.cuda.device_count()
    if n_gpus == 0:
        return "cpu"
    return f"cuda:{index % n_gpus}"


def _check_sweep(values, name, n_seeds):
    """Return ``values`` as a non-empty tuple; check ``n_seeds`` (a clear error up front)."""
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(
            f"{name} must be a sequence of settings (e.g. [1, 2, 3]); got {values!r} of type "
            f"{type(values).__name__}."
        )
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} is empty; give at least one setting to run.")
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int | np.integer) or n_seeds < 1:
        raise ValueError(f"n_seeds must be an integer >= 1; got {n_seeds!r}.")
    return values


def _limit_threads(n_jobs):
    # Parallel jobs each get a share of the cores instead of all fighting for all of them.
    import torch

    if n_jobs not in (None, 1):
        n_cpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        torch.set_num_threads(max(1, n_cpu // abs(n_jobs if n_jobs > 0 else n_cpu)))


def _tcl_job(n_layers, n_segments, seed, *, n_sources, segment_length, device, n_jobs,
             estimator_params):
    from . import FastICA
    from ._tcl import TCL
    from .datasets import make_tcl_dataset

    _limit_threads(n_jobs)
    data = make_tcl_dataset(n_sources=n_sources, n_layers=n_layers, n_segments=n_segments,
                            segment_length=segment_length, random_state=seed)
    target = np.abs(data.S)
    rows = []
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = TCL(n_layers=n_layers, random_state=seed, device=device, **estimator_params)
        S_est = est.fit(data.X, segments=data.segments).transform(data.X)
    rows.append({"method": "TCL", "mcc": mean_corr_coef(target, S_est),
                 "seconds": time.perf_counter() - t0, "n_iter": est.n_iter_})
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        S_lin = FastICA(random_state=seed).fit_transform(data.X)
    rows.append({"method": "FastICA", "mcc": mean_corr_coef(target, np.abs(S_lin)),
                 "seconds": time.perf_counter() - t0, "n_iter": None})
    for r in rows:
        r.update(n_layers=n_layers, n_segments=n_segments, seed=seed, device=str(device),
                 rule="pearson vs |s| (FastICA: |estimate|)")
    return rows


def _pcl_job(n_layers, seed, *, n_sources, n_samples, device, n_jobs, estimator_params):
    from . import FastICA
    from ._pcl import PCL
    from .datasets import make_pcl_dataset

    _limit_threads(n_jobs)
    data = make_pcl_dataset(n_sources=n_sources, n_layers=n_layers, n_samples=n_samples,
                            random_state=seed)
    rows = []
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = PCL(n_layers=n_layers, random_state=seed, device=device, **estimator_params)
        S_est = est.fit(data.X).transform(data.X)
    rows.append({"method": "PCL", "mcc": mean_corr_coef(data.S, S_est),
                 "seconds": time.perf_counter() - t0, "n_iter": est.n_iter_})
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        S_lin = FastICA(random_state=seed).fit_transform(data.X)
    rows.append({"method": "FastICA", "mcc": mean_corr_coef(data.S, S_lin),
                 "seconds": time.perf_counter() - t0, "n_iter": None})
    for r in rows:
        r.update(n_layers=n_layers, seed=seed, device=str(device), rule="pearson vs s")
    return rows


def _import_tqdm():
    """Return ``tqdm.auto.tqdm``, or None when the optional ``progress`` extra is missing."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class _Progress:
    """Progress over finished jobs: a tqdm bar, or one plain line per job without tqdm.

    Lines and bar go to stderr, so the tables on stdout stay clean.
    """

    def __init__(self, total, desc, enabled=True, file=None):
        self.total, self.desc, self.done = total, desc, 0
        self.file = file if file is not None else sys.stderr
        tqdm = _import_tqdm() if enabled else None
        self.enabled = enabled
        self.bar = (tqdm(total=total, desc=desc, unit="job", file=self.file)
                    if tqdm is not None else None)

    def update(self, label, note=""):
        if not self.enabled:
            return
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(f"{label} {note}".strip(), refresh=False)
            self.bar.update(1)
        else:
            print(f"[{self.done}/{self.total}] {self.desc}: {label}"
                  + (f" ({note})" if note else ""), file=self.file, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _mcc_note(rows):
    """``"TCL 0.981, FastICA 0.847"``: the MCC of each method in one job's rows."""
    return ", ".join(f"{r['method']} {r['mcc']:.3f}" for r in rows)


def _run_jobs(jobs, labels, n_jobs, verbose, progress, desc, rows_of=lambda r: r):
    """Run joblib jobs in order; with ``progress``, report each job as it finishes."""
    if not progress:
        return Parallel(n_jobs=n_jobs, verbose=verbose)(jobs)
    bar = _Progress(len(jobs), desc)
    results = []
    try:
        # A generator yields each result (in order) as soon as it is ready.
        for result, label in zip(Parallel(n_jobs=n_jobs, verbose=verbose,
                                          return_as="generator")(jobs), labels):
            results.append(result)
            bar.update(label, _mcc_note(rows_of(result)))
    finally:
        bar.close()
    return results


def _run(jobs, labels, n_jobs, verbose, progress, desc):
    results = _run_jobs(jobs, labels, n_jobs, verbose, progress, desc)
    return [row for rows in results for row in rows]


def run_tcl_experiment(layers=(1, 2, 3, 4, 5), segments=(8, 16, 32, 64, 128, 256), *,
                       n_seeds=3, n_sources=5, segment_length=256, device="cpu", n_jobs=1,
                       verbose=0, estimator_params=None, progress=False):
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
    device : str, default="cpu"
        Device of the estimators; ``"cuda"`` round-robins over visible GPUs.
    n_jobs : int, default=1
        Parallel jobs (joblib).
    verbose : int, default=0
        joblib verbosity.
    estimator_params : dict, default=None
        Extra :class:`~nlica.TCL` parameters (e.g. ``{"preset": "paper"}``;
        ``{"verbose": 2}`` adds each fit's own progress bar).
    progress : bool, default=False
        Report each finished job (a tqdm bar on stderr; plain lines without tqdm).

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
    layers = _check_sweep(layers, "layers", n_seeds)
    segments = _check_sweep(segments, "segments", n_seeds)
    params = dict(estimator_params or {})
    jobs, labels = [], []
    for n_layers in layers:
        for n_segments in segments:
            for seed in range(n_seeds):
                dev = _job_device(device, len(jobs))
                jobs.append(delayed(_tcl_job)(
                    n_layers, n_segments, seed, n_sources=n_sources,
                    segment_length=segment_length, device=dev, n_jobs=n_jobs,
                    estimator_params=params))
                labels.append(f"L={n_layers} segments={n_segments} seed={seed}")
    return _run(jobs, labels, n_jobs, verbose, progress, "tcl experiment")


def run_pcl_experiment(layers=(1, 2, 3, 4, 5), *, n_seeds=3, n_sources=5, n_samples=2**15,
                       device="cpu", n_jobs=1, verbose=0, estimator_params=None,
                       progress=False):
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
    device : str, default="cpu"
        Device of the estimators; ``"cuda"`` round-robins over visible GPUs.
    n_jobs : int, default=1
        Parallel jobs (joblib).
    verbose : int, default=0
        joblib verbosity.
    estimator_params : dict, default=None
        Extra :class:`~nlica.PCL` parameters.
    progress : bool, default=False
        Report each finished job (a tqdm bar on stderr; plain lines without tqdm).

    Returns
    -------
    rows : list of dict
        One row per (method, depth, seed); MCC rule Pearson against ``s``.

    Examples
    --------
    >>> rows = run_pcl_experiment([1], n_seeds=1, n_samples=2048,
    ...                           estimator_params={"max_iter": 50})  # doctest: +SKIP
    """
    layers = _check_sweep(layers, "layers", n_seeds)
    params = dict(estimator_params or {})
    jobs, labels = [], []
    for n_layers in layers:
        for seed in range(n_seeds):
            dev = _job_device(device, len(jobs))
            jobs.append(delayed(_pcl_job)(
                n_layers, seed, n_sources=n_sources, n_samples=n_samples, device=dev,
                n_jobs=n_jobs, estimator_params=params))
            labels.append(f"L={n_layers} seed={seed}")
    return _run(jobs, labels, n_jobs, verbose, progress, "pcl experiment")


# ------------------------------------------------------------------------------ SlowVAE
# Laptop-sized settings of the sprite comparison; the paper's are 64x64 frames, Adam 1e-4,
# 32 pairs a step and 3e5 steps (``estimator_params={"preset": "paper"}`` on a GPU).
_SPRITE_DEFAULTS = {"max_iter": 2000, "batch_size": 64, "learning_rate": 1e-3}
_SPRITE_FACTORS = ("scale", "orientation", "x", "y")
_SLOWVAE_RULE = ("spearman, posterior mean vs factors, Hungarian matching "
                 "(extra latents unmatched)")


def _spearman_matching(target, Z):
    """Spearman MCC with the per-factor |rho| of the matched pairs."""
    mcc, matching = mean_corr_coef(target, Z, method="spearman", return_matching=True)
    from scipy.stats import rankdata

    k = target.shape[1]
    C = np.corrcoef(rankdata(target, axis=0), rankdata(Z, axis=0), rowvar=False)[:k, k:]
    C = np.abs(np.nan_to_num(C))
    per = {int(i): float(C[i, j]) for i, j in matching}
    return float(mcc), matching, per


def _pca_reduce(X, n_components):
    """Project centred frames on their leading principal directions.

    Done here rather than by FastICA's own whitening, which returned all-zero components
    on frames with constant (never-lit) pixels when ``n_components < n_features``.
    """
    X = np.asarray(X, dtype=np.float64)
    X = X - X.mean(axis=0)
    evals, evecs = np.linalg.eigh(X.T @ X)
    return X @ evecs[:, ::-1][:, :min(n_components, int(np.sum(evals > 1e-9 * evals[-1])))]


def _vae_names(baseline_beta):
    # A job without a baseline beta fits SlowVAE only (``baseline=False``).
    return ("SlowVAE",) if baseline_beta is None else ("SlowVAE", "beta-VAE")


def _vae_params(name, estimator_params, baseline_beta):
    params = dict(estimator_params)
    if name == "beta-VAE":
        params.update(gamma=0.0, beta=float(baseline_beta))
    return params


def _traversal(est, frame, span=2.0, n_steps=9):
    """Decode ``frame``'s posterior mean with each latent swept over [-span, span]."""
    z0 = est.transform(frame[None, :])[0]
    values = np.linspace(-span, span, n_steps)
    k = z0.shape[0]
    Z = np.repeat(z0[None, :], k * n_steps, axis=0).reshape(k, n_steps, k)
    for i in range(k):
        Z[i, :, i] = values
    X = est.inverse_transform(Z.reshape(k * n_steps, k))
    size = int(round(np.sqrt(X.shape[1])))
    return X.reshape(k, n_steps, size, size), values


def _slowvae_vector_job(n_layers, seed, *, n_sources, n_samples, baseline_beta, device,
                        n_jobs, estimator_params):
    from . import FastICA
    from ._slowvae import SlowVAE
    from .datasets import make_slowvae_dataset

    _limit_threads(n_jobs)
    data = make_slowvae_dataset(n_sources=n_sources, n_layers=n_layers, n_samples=n_samples,
                                random_state=seed)
    rows = []
    for name in _vae_names(baseline_beta):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = SlowVAE(random_state=seed, device=device,
                          **_vae_params(name, estimator_params, baseline_beta))
            S_est = est.fit(data.X, groups=data.groups).transform(data.X)
        mcc, _, _ = _spearman_matching(data.S, S_est)
        rows.append({"method": name, "mcc": mcc, "seconds": time.perf_counter() - t0,
                     "n_iter": est.n_iter_})
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        S_lin = FastICA(random_state=seed).fit_transform(data.X)
    rows.append({"method": "FastICA", "mcc": _spearman_matching(data.S, S_lin)[0],
                 "seconds": time.perf_counter() - t0, "n_iter": None})
    for r in rows:
        r.update(part="vector", n_layers=n_layers, transitions=None, seed=seed,
                 device=str(device), rule=_SLOWVAE_RULE + " vs s")
    return rows


def _slowvae_sprite_job(transitions, seed, *, n_frames, image_size, n_groups, baseline_beta,
                        device, n_jobs, estimator_params, traversal):
    from . import FastICA
    from ._slowvae import SlowVAE
    from ._sprites import make_sprite_sequences

    _limit_threads(n_jobs)
    data = make_sprite_sequences(n_frames, transitions=transitions, image_size=image_size,
                                 n_groups=n_groups, random_state=seed)
    shape = tuple(data.image_shape)
    # A preset brings its own schedule; otherwise the laptop defaults, then the caller's.
    params = (dict(estimator_params) if "preset" in estimator_params
              else {**_SPRITE_DEFAULTS, **estimator_params})
    rows, traversals = [], {}
    for name in _vae_names(baseline_beta):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = SlowVAE(image_shape=shape, random_state=seed, device=device,
                          **_vae_params(name, params, baseline_beta))
            Z = est.fit(data.X, groups=data.groups).transform(data.X)
        mcc, matching, per = _spearman_matching(data.target, Z)
        rows.append({"method": name, "mcc": mcc, "seconds": time.perf_counter() - t0,
                     "n_iter": est.n_iter_,
                     **{f"mcc_{f}": per.get(i) for i, f in enumerate(_SPRITE_FACTORS)}})
        if traversal:
            frame = data.X[data.X.shape[0] // 2]
            grid, values = _traversal(est, frame)
            # label each latent by the factor it was matched to
            labels = {int(j): f"{_SPRITE_FACTORS[i]} ({per[int(i)]:.2f})"
                      for i, j in matching}
            traversals[name] = {"grid": grid, "values": values,
                                "labels": [labels.get(j, "-") for j in range(grid.shape[0])],
                                "transitions": transitions, "seed": seed,
                                "latent_std": Z.std(0)}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        n_comp = params.get("n_components") or 10
        S_lin = FastICA(random_state=seed).fit_transform(_pca_reduce(data.X, n_comp))
    mcc, _, per = _spearman_matching(data.target, S_lin)
    rows.append({"method": "FastICA", "mcc": mcc, "seconds": time.perf_counter() - t0,
                 "n_iter": None,
                 **{f"mcc_{f}": per.get(i) for i, f in enumerate(_SPRITE_FACTORS)}})
    for r in rows:
        r.update(part="sprites", n_layers=None, transitions=transitions, seed=seed,
                 image_size=image_size, device=str(device),
                 rule=_SLOWVAE_RULE + " (scale, orientation, x, y)")
    return rows, traversals


def run_slowvae_experiment(part="both", layers=(1, 2, 3), transitions=("laplace",), *,
                           n_seeds=3, n_sources=5, n_samples=2**15, n_frames=4000,
                           image_size=32, n_groups=10, baseline_beta=None, device="cpu",
                           n_jobs=1, verbose=0, estimator_params=None,
                           return_traversals=False, progress=False, baseline=True):
    """Spearman MCC of SlowVAE, a beta-VAE and FastICA on vector toys and sprite sequences.

    Two parts, after Klindt et al. (2021):

    * ``"vector"``: :func:`~nlica.datasets.make_slowvae_dataset` (``n_sources`` Laplace-
      transition sources mixed by an ``n_layers`` MLP), one setting per depth;
    * ``"sprites"``: binary sprite frames of
      :func:`~nlica._sprites.make_sprite_sequences` whose scale, orientation, x and y move
      by sparse steps (``"laplace"`` or ``"natural"`` transitions); the networks are the
      paper's convolutional ones (``image_shape=(1, image_size, image_size)``, Bernoulli
      decoder, 10 latents).

    The beta-VAE baseline is the same estimator with ``gamma=0`` (no transition prior) and
    ``beta=baseline_beta``; FastICA runs on the observations (on the frames, first reduced
    by PCA to as many components as the VAEs' latents). Every method is scored
    on its training data with the Spearman MCC of its posterior means (FastICA: its
    components) against the true factors, optimal (Hungarian) matching; with more latents
    than factors the surplus latents stay unmatched.

    Sprite defaults are laptop-sized (32x32 frames, 4000 frames in 10 recordings, 2000
    Adam steps of 64 pairs at 1e-3: a few minutes per model on two CPU cores). The paper's
    scale, for a GPU: ``image_size=64, n_frames=100_000`` (or more) and
    ``estimator_params={"preset": "paper"}`` (Adam 1e-4, 32 pairs, 3e5 steps), or
    ``{"max_iter": 100_000, "batch_size": 64}`` for a shorter run.

    Parameters
    ----------
    part : {"vector", "sprites", "both"}, default="both"
        Which comparison to run.
    layers : sequence of int, default=(1, 2, 3)
        Mixing depths of the vector part.
    transitions : sequence of {"laplace", "natural"}, default=("laplace",)
        Sprite transition statistics (one setting each).
    n_seeds : int, default=3
        Seeds per setting (0, 1, ...); each seed draws new data and new initialisations.
    n_sources : int, default=5
        Sources of the vector part.
    n_samples : int, default=2**15
        Samples of the vector part.
    n_frames : int, default=4000
        Frames of the sprite part.
    image_size : int, default=32
        Frame side (8, 16, 32 or 64).
    n_groups : int, default=10
        Sprite recordings (each holds one shape; pairs never cross recordings).
    baseline_beta : float, default=None
        ``beta`` of the beta-VAE baseline; ``None``: 8 on sprites (the paper's baseline,
        ``beta=8, gamma=0``, for the Bernoulli image decoder) and 1 on vectors (a plain
        VAE: SlowVAE without its transition prior, same Gaussian decoder).
    device : str, default="cpu"
        Device of the VAEs; ``"cuda"`` round-robins over visible GPUs.
    n_jobs : int, default=1
        Parallel jobs (joblib), one per (setting, seed).
    verbose : int, default=0
        joblib verbosity.
    estimator_params : dict, default=None
        Extra :class:`~nlica.SlowVAE` parameters for both VAEs (e.g. ``{"max_iter": 500}``,
        ``{"rate_prior": 3.0}``); on sprites they override the laptop defaults above,
        and a ``"preset"`` replaces them by its own schedule.
        ``gamma`` and ``beta`` here set SlowVAE's; the baseline keeps ``gamma=0``.
    return_traversals : bool, default=False
        Also return latent traversals of the first seed's sprite models.
    progress : bool, default=False
        Report each finished job (a tqdm bar on stderr; plain lines without tqdm).
    baseline : bool, default=True
        Also fit the beta-VAE baseline; ``False`` fits SlowVAE and FastICA only (half the
        time).

    Returns
    -------
    rows : list of dict
        One row per (method, part, setting, seed) with ``mcc``, ``seconds``, ``n_iter``,
        ``part``, ``n_layers`` (vector) or ``transitions`` (sprites, with per-factor
        ``mcc_scale``, ``mcc_orientation``, ``mcc_x``, ``mcc_y``) and the ``rule``.
    traversals : list of dict
        Only if ``return_traversals``: for each sprite setting and VAE, ``method``,
        ``transitions``, ``grid`` (n_latents, n_steps, size, size) of decoded frames (one
        frame's posterior mean with one latent set to each of ``values``, a sweep over
        [-2, 2]), ``labels`` (the factor each latent was matched to, with its ``|rho|``) and
        ``latent_std``.

    Examples
    --------
    >>> rows = run_slowvae_experiment("vector", [1], n_seeds=1, n_samples=2048,
    ...                               estimator_params={"max_iter": 50})  # doctest: +SKIP
    """
    if part not in ("vector", "sprites", "both"):
        raise ValueError(f"part must be 'vector', 'sprites' or 'both'; got {part!r}.")
    if isinstance(transitions, str):
        transitions = (transitions,)
    layers = _check_sweep(layers, "layers", n_seeds)
    transitions = _check_sweep(transitions, "transitions", n_seeds)
    params = dict(estimator_params or {})
    jobs, labels = [], []
    if part in ("vector", "both"):
        beta = (1.0 if baseline_beta is None else baseline_beta) if baseline else None
        for n_layers in layers:
            for seed in range(n_seeds):
                dev = _job_device(device, len(jobs))
                jobs.append(delayed(_slowvae_vector_job)(
                    n_layers, seed, n_sources=n_sources, n_samples=n_samples,
                    baseline_beta=beta, device=dev, n_jobs=n_jobs, estimator_params=params))
                labels.append(f"vector L={n_layers} seed={seed}")
    n_vector = len(jobs)
    if part in ("sprites", "both"):
        beta = (8.0 if baseline_beta is None else baseline_beta) if baseline else None
        for trans in transitions:
            for seed in range(n_seeds):
                dev = _job_device(device, len(jobs))
                jobs.append(delayed(_slowvae_sprite_job)(
                    trans, seed, n_frames=n_frames, image_size=image_size,
                    n_groups=n_groups, baseline_beta=beta, device=dev, n_jobs=n_jobs,
                    estimator_params=params, traversal=return_traversals and seed == 0))
                labels.append(f"sprites {trans} seed={seed}")
    # Sprite jobs return (rows, traversals), vector jobs their rows.
    results = _run_jobs(jobs, labels, n_jobs, verbose, progress, "slowvae experiment",
                        rows_of=lambda r: r[0] if isinstance(r, tuple) else r)
    rows = [row for rows in results[:n_vector] for row in rows]
    traversals = []
    for sprite_rows, trav in results[n_vector:]:
        rows.extend(sprite_rows)
        traversals.extend({"method": name, **t} for name, t in trav.items())
    if return_traversals:
        return rows, traversals
    return rows


def summarize(rows, keys):
    """Mean, min and max MCC and mean seconds over seeds for each setting.

    Parameters
    ----------
    rows : list of dict
        Experiment rows.
    keys : sequence of str
        Setting keys to group by (``method`` is always included first).

    Returns
    -------
    summary : list of dict
        One row per setting.

    Examples
    --------
    >>> summarize([{"method": "A", "L": 1, "mcc": 0.5, "seconds": 1.0}], ["L"])[0]["mcc_mean"]
    0.5
    """
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in ("method", *keys)), []).append(r)
    out = []
    for key, rs in sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0]))):
        mccs = [r["mcc"] for r in rs]
        row = dict(zip(("method", *keys), key))
        row.update(mcc_mean=float(np.mean(mccs)), mcc_min=float(np.min(mccs)),
                   mcc_max=float(np.max(mccs)), seconds=float(np.mean([r["seconds"] for r in rs])),
                   n_seeds=len(rs))
        out.append(row)
    return out


def _write(rows, summary, out_dir, name, plot):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps({"rows": rows, "summary": summary},
                                                     indent=2, default=str))
    with open(out_dir / f"{name}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(summary[0]))
        writer.writeheader()
        writer.writerows(summary)
    if plot is not None:
        try:
            fig = plot(rows)
        except ImportError:
            return None
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=90)
        _close(fig)
        return path
    return None


def _close(fig):
    # Saved figures are closed so that repeated runs (tests, notebooks) do not pile them up.
    from .plotting import _plt

    _plt().close(fig)


def _print_summary(summary):
    cols = list(summary[0])
    print("  ".join(f"{c:>10}" for c in cols))
    for r in summary:
        print("  ".join(f"{r[c]:>10.3f}" if isinstance(r[c], float) else f"{r[c]!s:>10}"
                        for c in cols))


def _tcl_plot(rows):
    from .plotting import _plt, plot_mcc_curves

    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, method in zip(axes, ("TCL", "FastICA")):
        plot_mcc_curves([r for r in rows if r["method"] == method], x="n_segments",
                        curve="n_layers", ax=ax, title=method, rule="Pearson vs |s|")
        ax.set_xscale("log", base=2)
    fig.tight_layout()
    return fig


def _pcl_plot(rows):
    from .plotting import _plt, plot_mcc_curves

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.8))
    plot_mcc_curves(rows, x="n_layers", curve="method", ax=ax,
                    title="PCL vs FastICA by mixing depth", rule="Pearson vs s")
    fig.tight_layout()
    return fig


def _slowvae_plot(rows):
    from .plotting import _plt, plot_mcc_curves

    plt = _plt()
    vector = [r for r in rows if r["part"] == "vector"]
    sprites = [r for r in rows if r["part"] == "sprites"]
    panels = [p for p in (vector, sprites) if p]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
    axes = list(axes[0])
    if vector:
        plot_mcc_curves(vector, x="n_layers", curve="method", ax=axes.pop(0),
                        title="Vector toy by mixing depth", rule="Spearman vs s")
    if sprites:
        ax = axes.pop(0)
        methods = sorted({r["method"] for r in sprites})
        settings = sorted({r["transitions"] for r in sprites})
        width = 0.8 / len(methods)
        for m, method in enumerate(methods):
            vals = [[r["mcc"] for r in sprites
                     if r["method"] == method and r["transitions"] == t] for t in settings]
            mean = np.array([np.mean(v) for v in vals])
            err = np.array([[mu - min(v), max(v) - mu] for mu, v in zip(mean, vals)]).T
            ax.bar(np.arange(len(settings)) + (m - (len(methods) - 1) / 2) * width, mean,
                   width, yerr=err, capsize=3, label=method)
        ax.set_xticks(np.arange(len(settings)))
        ax.set_xticklabels([f"{t} transitions" for t in settings])
        ax.set_ylabel("MCC (Spearman, 4 continuous factors)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize="small")
        ax.set_title("Sprite sequences (min-max over seeds)")
    fig.tight_layout()
    return fig


def _traversal_plot(traversals):
    """One panel per (model, transitions): a row per latent, decoded over [-2, 2]."""
    from .plotting import _plt

    plt = _plt()
    n = len(traversals)
    k, n_steps, size, _ = traversals[0]["grid"].shape
    fig, axes = plt.subplots(1, n, figsize=(0.45 * n_steps * n + 1.6 * n, 0.45 * k + 1.0),
                             squeeze=False)
    for ax, t in zip(axes[0], traversals):
        grid = t["grid"]
        pad = np.full((grid.shape[0], grid.shape[1], size + 2, size + 2), 0.4)
        pad[:, :, 1:-1, 1:-1] = grid
        mosaic = pad.transpose(0, 2, 1, 3).reshape(k * (size + 2), n_steps * (size + 2))
        ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1)
        ax.set_yticks((np.arange(k) + 0.5) * (size + 2))
        ax.set_yticklabels([f"z{i}: {lab}" for i, lab in enumerate(t["labels"])],
                           fontsize="small")
        ax.set_xticks((np.arange(n_steps) + 0.5) * (size + 2))
        ax.set_xticklabels([f"{v:g}" for v in t["values"]], fontsize="x-small")
        ax.set_xlabel("latent value")
        ax.set_title(f"{t['method']}, {t['transitions']} (seed {t['seed']})",
                     fontsize="medium")
    fig.tight_layout()
    return fig


def main(argv=None):
    """Run an experiment from the command line (``python -m nlica experiment ...``).

    Parameters
    ----------
    argv : list of str
        ``[name, options...]`` with name ``tcl``, ``pcl`` or ``slowvae``.

    Returns
    -------
    status : int
        Exit status.

    Examples
    --------
    >>> main(["tcl", "--help"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog="python -m nlica experiment",
                                     description="Reproduce a paper's MCC figure.")
    parser.add_argument("name", choices=["tcl", "pcl", "slowvae"])
    parser.add_argument("--layers", type=int, nargs="+", default=None,
                        help="mixing depths (default 1-5; slowvae: 1 2 3)")
    parser.add_argument("--segments", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256],
                        help="numbers of segments (tcl)")
    parser.add_argument("--segment-length", type=int, default=256, help="(tcl)")
    parser.add_argument("--n-samples", type=int, default=2**15,
                        help="(pcl; slowvae vector part)")
    parser.add_argument("--part", default="both", choices=["vector", "sprites", "both"],
                        help="(slowvae)")
    parser.add_argument("--transitions", nargs="+", default=["laplace"],
                        choices=["laplace", "natural"], help="sprite transitions (slowvae)")
    parser.add_argument("--image-size", type=int, default=32, choices=[8, 16, 32, 64],
                        help="sprite frame side (slowvae; the paper's: 64)")
    parser.add_argument("--n-frames", type=int, default=4000, help="sprite frames (slowvae)")
    parser.add_argument("--n-groups", type=int, default=10,
                        help="sprite recordings (slowvae)")
    parser.add_argument("--baseline-beta", type=float, default=None,
                        help="beta of the beta-VAE baseline (slowvae; default 8 on sprites, "
                             "1 on vectors)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="override the estimator's batch size")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="override the estimator's learning rate")
    parser.add_argument("--rate-prior", type=float, default=None,
                        help="SlowVAE's Laplace rate (slowvae)")
    parser.add_argument("--gamma", type=float, default=None,
                        help="SlowVAE's transition-prior weight (slowvae)")
    parser.add_argument("--n-sources", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--max-iter", type=int, default=None,
                        help="override the estimator's step budget")
    parser.add_argument("--preset", default=None, choices=["fast", "paper"])
    parser.add_argument("--out", default="results",
                        help="output folder for NAME_experiment.csv, .json and .png "
                             "(default: results)")
    parser.add_argument("--progress", action="store_true",
                        help="a progress bar over the jobs (plain lines without tqdm)")
    parser.add_argument("-v", "--verbose", type=int, default=0,
                        help="1: progress over the jobs (as --progress); 2: also each "
                             "fit's own progress bar")
    args = parser.parse_args(argv)
    args.progress = args.progress or args.verbose >= 1
    params = {"verbose": 2} if args.verbose >= 2 else {}
    if args.max_iter is not None:
        params["max_iter"] = args.max_iter
    if args.preset is not None:
        params["preset"] = args.preset
    for key in ("batch_size", "learning_rate", "rate_prior", "gamma"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    if args.name == "slowvae":
        return _slowvae_main(args, params)
    if args.layers is None:
        args.layers = [1, 2, 3, 4, 5]
    if args.name == "tcl":
        rows = run_tcl_experiment(args.layers, args.segments, n_seeds=args.seeds,
                                  n_sources=args.n_sources, segment_length=args.segment_length,
                                  device=args.device, n_jobs=args.n_jobs,
                                  estimator_params=params, progress=args.progress)
        summary = summarize(rows, ["n_layers", "n_segments"])
        plot = _tcl_plot
        print("MCC rule: Pearson, estimate vs |s| (FastICA: |estimate|), Hungarian matching")
    else:
        rows = run_pcl_experiment(args.layers, n_seeds=args.seeds, n_sources=args.n_sources,
                                  n_samples=args.n_samples, device=args.device,
                                  n_jobs=args.n_jobs, estimator_params=params,
                                  progress=args.progress)
        summary = summarize(rows, ["n_layers"])
        plot = _pcl_plot
        print("MCC rule: Pearson, estimate vs s, Hungarian matching")
    _print_summary(summary)
    name = f"{args.name}_experiment"
    path = _write(rows, summary, args.out, name, plot)
    print(f"\nwrote {args.out}/{name}.json, {args.out}/{name}.csv"
          + (f", {path}" if path else ""))
    return 0


def _slowvae_main(args, params):
    name = "slowvae_experiment"
    rows, traversals = run_slowvae_experiment(
        args.part, args.layers or [1, 2, 3], args.transitions, n_seeds=args.seeds,
        n_sources=args.n_sources, n_samples=args.n_samples, n_frames=args.n_frames,
        image_size=args.image_size, n_groups=args.n_groups, baseline_beta=args.baseline_beta,
        device=args.device, n_jobs=args.n_jobs, estimator_params=params,
        return_traversals=True, progress=args.progress)
    summary = summarize(rows, ["part", "n_layers", "transitions"])
    print(f"MCC rule: {_SLOWVAE_RULE}; vector part vs s, sprite part vs "
          "(scale, orientation, x, y); scored on the training data")
    _print_summary(summary)
    sprites = [r for r in rows if r["part"] == "sprites"]
    if sprites:
        per = summarize([{**r, "mcc": r[f"mcc_{f}"], "factor": f} for r in sprites
                         for f in _SPRITE_FACTORS if r[f"mcc_{f}"] is not None],
                        ["transitions", "factor"])
        print("\nsprites, per factor (Spearman |rho| of the matched latent):")
        _print_summary(per)
    path = _write(rows, summary, args.out, name, _slowvae_plot)
    written = [f"{args.out}/{name}.json", f"{args.out}/{name}.csv"] + (
        [str(path)] if path else [])
    if traversals:
        try:
            fig = _traversal_plot(traversals)
        except ImportError:
            fig = None
        if fig is not None:
            tpath = Path(args.out) / f"{name}_traversal.png"
            fig.savefig(tpath, dpi=90)
            _close(fig)
            written.append(str(tpath))
    print("\nwrote " + ", ".join(written))
    return 0
