"""Reproductions of the papers' identifiability figures, as sweeps over depth and settings.

Each run is one (setting, seed) job; jobs go through :class:`joblib.Parallel`, so
``n_jobs`` spreads them over local cores and a dask or ray joblib backend
(``with joblib.parallel_backend("dask"): ...``) spreads them over a cluster. With
``device="cuda"`` jobs are assigned round-robin to the visible GPUs; several jobs may share
one GPU safely (each has its own CUDA context and memory).

Command line: ``python -m nlica experiment tcl|pcl --help``.
"""

import argparse
import csv
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from .metrics import mean_corr_coef

__all__ = ["run_tcl_experiment", "run_pcl_experiment", "main"]


def _job_device(device, index):
    """Round-robin CUDA devices over jobs; other devices pass through."""
    if device not in ("cuda", "auto"):
        return device
    import torch

    n_gpus = torch.cuda.device_count()
    if n_gpus == 0:
        return "cpu"
    return f"cuda:{index % n_gpus}"


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


def _run(jobs, n_jobs, verbose):
    results = Parallel(n_jobs=n_jobs, verbose=verbose)(jobs)
    return [row for rows in results for row in rows]


def run_tcl_experiment(layers=(1, 2, 3, 4, 5), segments=(8, 16, 32, 64, 128, 256), *,
                       n_seeds=3, n_sources=5, segment_length=256, device="cpu", n_jobs=1,
                       verbose=0, estimator_params=None):
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
        Extra :class:`~nlica.TCL` parameters (e.g. ``{"preset": "paper"}``).

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
    params = dict(estimator_params or {})
    jobs = []
    for n_layers in layers:
        for n_segments in segments:
            for seed in range(n_seeds):
                dev = _job_device(device, len(jobs))
                jobs.append(delayed(_tcl_job)(
                    n_layers, n_segments, seed, n_sources=n_sources,
                    segment_length=segment_length, device=dev, n_jobs=n_jobs,
                    estimator_params=params))
    return _run(jobs, n_jobs, verbose)


def run_pcl_experiment(layers=(1, 2, 3, 4, 5), *, n_seeds=3, n_sources=5, n_samples=2**15,
                       device="cpu", n_jobs=1, verbose=0, estimator_params=None):
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

    Returns
    -------
    rows : list of dict
        One row per (method, depth, seed); MCC rule Pearson against ``s``.

    Examples
    --------
    >>> rows = run_pcl_experiment([1], n_seeds=1, n_samples=2048,
    ...                           estimator_params={"max_iter": 50})  # doctest: +SKIP
    """
    params = dict(estimator_params or {})
    jobs = []
    for n_layers in layers:
        for seed in range(n_seeds):
            dev = _job_device(device, len(jobs))
            jobs.append(delayed(_pcl_job)(
                n_layers, seed, n_sources=n_sources, n_samples=n_samples, device=dev,
                n_jobs=n_jobs, estimator_params=params))
    return _run(jobs, n_jobs, verbose)


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
        return path
    return None


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


def main(argv=None):
    """Run an experiment from the command line (``python -m nlica experiment ...``).

    Parameters
    ----------
    argv : list of str
        ``[name, options...]`` with name ``tcl`` or ``pcl``.

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
    parser.add_argument("name", choices=["tcl", "pcl"])
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--segments", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256],
                        help="numbers of segments (tcl)")
    parser.add_argument("--segment-length", type=int, default=256, help="(tcl)")
    parser.add_argument("--n-samples", type=int, default=2**15, help="(pcl)")
    parser.add_argument("--n-sources", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--max-iter", type=int, default=None,
                        help="override the estimator's step budget")
    parser.add_argument("--preset", default=None, choices=["fast", "paper"])
    parser.add_argument("--out", default="results", help="output folder")
    parser.add_argument("-v", "--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    params = {}
    if args.max_iter is not None:
        params["max_iter"] = args.max_iter
    if args.preset is not None:
        params["preset"] = args.preset
    if args.name == "tcl":
        rows = run_tcl_experiment(args.layers, args.segments, n_seeds=args.seeds,
                                  n_sources=args.n_sources, segment_length=args.segment_length,
                                  device=args.device, n_jobs=args.n_jobs, verbose=args.verbose,
                                  estimator_params=params)
        summary = summarize(rows, ["n_layers", "n_segments"])
        plot = _tcl_plot
        print("MCC rule: Pearson, estimate vs |s| (FastICA: |estimate|), Hungarian matching")
    else:
        rows = run_pcl_experiment(args.layers, n_seeds=args.seeds, n_sources=args.n_sources,
                                  n_samples=args.n_samples, device=args.device,
                                  n_jobs=args.n_jobs, verbose=args.verbose,
                                  estimator_params=params)
        summary = summarize(rows, ["n_layers"])
        plot = _pcl_plot
        print("MCC rule: Pearson, estimate vs s, Hungarian matching")
    _print_summary(summary)
    path = _write(rows, summary, args.out, f"{args.name}_experiment", plot)
    print(f"\nwrote {args.out}/{args.name}_experiment.json and .csv"
          + (f", {path}" if path else ""))
    return 0
