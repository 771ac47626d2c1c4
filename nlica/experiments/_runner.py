"""The experiment runner: jobs over cores and devices, progress, and result tables.

Each run of a sweep is one (setting, seed) job; jobs go through :class:`joblib.Parallel`,
so ``n_jobs`` spreads them over local cores and a dask or ray joblib backend
(``with joblib.parallel_backend("dask"): ...``) over a cluster. With ``device="cuda"``
jobs are assigned round-robin to the visible GPUs; several jobs may share one GPU safely
(each has its own CUDA context and memory).
"""

import csv
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed

from .._fastica import FastICA
from ..metrics import mean_corr_coef
from ..plotting import _plt, plot_mcc_curves
from ..utils._docstrings import fill_doc

__all__ = ["summarize"]


# The parameters every sweep passes to the runner, documented once: the line
# "<runner parameters>" and "<progress>" of a sweep's docstring are replaced by them (see
# runner_docs).
_RUNNER_DOCS = """\
device : str, default="cpu"
    Device of the estimators; ``"cuda"`` (or ``"auto"``) spreads the jobs round-robin over
    the visible GPUs.
n_jobs : int, default=1
    Parallel jobs (joblib), one per (setting, seed).
verbose : int, default=0
    Verbosity of joblib.
"""


_PROGRESS_DOC = """\
progress : bool, default=False
    Report each finished job (a tqdm bar on stderr; plain lines without tqdm).
"""

runner_docs = fill_doc({"runner parameters": _RUNNER_DOCS, "progress": _PROGRESS_DOC})


def job_device(device, index):
    """Return the device of job ``index``: CUDA devices round-robin, others as given."""
    if device not in ("cuda", "auto"):
        return device
    n_gpus = torch.cuda.device_count()
    if n_gpus == 0:
        return "cpu"
    return f"cuda:{index % n_gpus}"


def check_sweep(values, name, n_seeds):
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


def limit_threads(n_jobs):
    """Give each of ``n_jobs`` parallel jobs its share of the cores (not all of them)."""
    if n_jobs not in (None, 1):
        n_cpu = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )
        torch.set_num_threads(max(1, n_cpu // abs(n_jobs if n_jobs > 0 else n_cpu)))


def pearson_mcc(target, absolute=False):
    """Return ``estimate -> MCC`` (Pearson) against ``target``, of ``|estimate|`` if asked.

    Linear ICA estimates ``s`` where TCL's target is ``|s|``: its absolute values are
    scored.
    """
    return lambda estimate: mean_corr_coef(target, np.abs(estimate) if absolute else estimate)


def signed_estimate(est):
    """Whether ``est`` estimates signed sources where TCL's target is ``|s|``.

    TCL's network estimates ``|s|``; its linear model (kept by ``mixing="auto"`` on
    linear data) estimates ``s``, whose absolute values are then scored, as FastICA's.
    """
    return getattr(est, "selected_model_", None) == "linear"


def timed_row(method, est, X, score, *, magnitudes=False, **fit_params):
    """Fit ``est`` to ``X`` and transform it (warnings silenced), time it and score it.

    Returns the row ``{"method", "mcc", "seconds", "n_iter"}`` (``mcc`` is
    ``score(estimate)``) and the estimate. With ``magnitudes`` (TCL against ``|s|``), a
    signed estimate (:func:`signed_estimate`) is scored and returned as its absolute values.
    """
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimate = est.fit_transform(X, **fit_params)
    if magnitudes and signed_estimate(est):
        estimate = np.abs(estimate)
    mcc = score(estimate)
    row = {
        "method": method,
        "mcc": mcc,
        "seconds": time.perf_counter() - t0,
        "n_iter": getattr(est, "n_iter_", None),
    }
    return row, estimate


def fastica_row(X, seed, score):
    """Return the row of the linear baseline of every sweep: FastICA on ``X``."""
    return timed_row("FastICA", FastICA(random_state=seed), X, score)[0]


class Progress:
    """Progress over finished jobs: a tqdm bar, or one plain line per job without tqdm.

    Lines and bar go to stderr, so the tables on stdout stay clean.
    """

    def __init__(self, total, desc, enabled=True, file=None):
        self.total, self.desc, self.done = total, desc, 0
        self.file = file if file is not None else sys.stderr
        self.enabled = enabled
        tqdm = _tqdm() if enabled else None
        self.bar = (
            tqdm(total=total, desc=desc, unit="job", file=self.file) if tqdm is not None else None
        )

    def update(self, label, note=""):
        """Report one more finished job (``label``, with an optional ``note``)."""
        if not self.enabled:
            return
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(f"{label} {note}".strip(), refresh=False)
            self.bar.update(1)
        else:
            print(
                f"[{self.done}/{self.total}] {self.desc}: {label}" + (f" ({note})" if note else ""),
                file=self.file,
                flush=True,
            )

    def close(self):
        """Close the bar (nothing to do for plain lines)."""
        if self.bar is not None:
            self.bar.close()


def _tqdm():
    """Return ``tqdm.auto.tqdm``, or None when the optional ``progress`` extra is missing."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def _mcc_note(rows):
    """``"TCL 0.981, FastICA 0.847"``: the MCC of each method in one job's rows."""
    return ", ".join(f"{r['method']} {r['mcc']:.3f}" for r in rows)


def run_jobs(jobs, labels, n_jobs, verbose, progress, desc, rows_of=lambda r: r):
    """Run joblib jobs in order; with ``progress``, report each job as it finishes."""
    if not progress:
        return Parallel(n_jobs=n_jobs, verbose=verbose)(jobs)
    bar = Progress(len(jobs), desc)
    results = []
    try:
        # A generator yields each result (in order) as soon as it is ready.
        for result, label in zip(
            Parallel(n_jobs=n_jobs, verbose=verbose, return_as="generator")(jobs), labels
        ):
            results.append(result)
            bar.update(label, _mcc_note(rows_of(result)))
    finally:
        bar.close()
    return results


def run_sweep(settings, n_seeds, device, n_jobs, verbose, progress, desc, rows_of=None):
    """Run every setting with seeds 0 .. n_seeds - 1, one job each, in order.

    ``settings`` holds ``(job, args, kwargs, label)``; each job is
    ``job(*args, seed, device=..., n_jobs=n_jobs, **kwargs)`` with its device from
    :func:`job_device`, reported as ``"LABEL seed=SEED"``. Returns the jobs' results.
    """
    jobs, labels = [], []
    for job, args, kwargs, label in settings:
        for seed in range(n_seeds):
            device_ = job_device(device, len(jobs))
            jobs.append(delayed(job)(*args, seed, device=device_, n_jobs=n_jobs, **kwargs))
            labels.append(f"{label} seed={seed}")
    return run_jobs(jobs, labels, n_jobs, verbose, progress, desc, rows_of or (lambda r: r))


def sweep_rows(settings, n_seeds, device, n_jobs, verbose, progress, desc):
    """:func:`run_sweep` of jobs that each return a list of rows; the rows, in job order."""
    results = run_sweep(settings, n_seeds, device, n_jobs, verbose, progress, desc)
    return [row for rows in results for row in rows]


# ------------------------------------------------------------------ tables and files
def plot_by_depth(rows, title, rule):
    """One panel of MCC against mixing depth, a curve per method; returns the figure."""
    fig, ax = _plt().subplots(figsize=(5, 3.8))
    plot_mcc_curves(rows, x="n_layers", curve="method", ax=ax, title=title, rule=rule)
    fig.tight_layout()
    return fig


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
        row.update(
            mcc_mean=float(np.mean(mccs)),
            mcc_min=float(np.min(mccs)),
            mcc_max=float(np.max(mccs)),
            seconds=float(np.mean([r["seconds"] for r in rs])),
            n_seeds=len(rs),
        )
        out.append(row)
    return out


def print_summary(summary):
    """Print summary rows as an aligned table on stdout."""
    cols = list(summary[0])
    print("  ".join(f"{c:>10}" for c in cols))
    for r in summary:
        print(
            "  ".join(
                f"{r[c]:>10.3f}" if isinstance(r[c], float) else f"{r[c]!s:>10}" for c in cols
            )
        )


def write_csv(rows, path):
    """Write dict rows as CSV, with the union of their keys as columns (first seen first)."""
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def save_figure(make, path, dpi=90):
    """Save the figure ``make()`` draws to ``path`` and close it; None without matplotlib."""
    try:
        fig = make()
    except ImportError:
        print(f"matplotlib is not installed: {path} not written (pip install 'nlica[plot]').")
        return None
    fig.savefig(path, dpi=dpi)
    # Closed so that repeated runs (tests, notebooks) do not pile figures up.
    _plt().close(fig)
    return path


def write_results(rows, summary, out_dir, name, plot=None):
    """Write ``NAME.json`` (rows and summary), ``NAME.csv`` (summary) and ``NAME.png``.

    Returns the paths written, the figure last (none without matplotlib or ``plot``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / f"{name}.json", out_dir / f"{name}.csv"]
    written[0].write_text(json.dumps({"rows": rows, "summary": summary}, indent=2, default=str))
    write_csv(summary, written[1])
    if plot is not None:
        path = save_figure(lambda: plot(rows), out_dir / f"{name}.png")
        if path is not None:
            written.append(path)
    return written


def report(rows, out_dir, name, keys, rule, plot):
    """Print the MCC rule and the summary of ``rows`` (by ``keys``); write ``name``'s files."""
    summary = summarize(rows, keys)
    print(f"MCC rule: {rule}")
    print_summary(summary)
    return write_results(rows, summary, out_dir, name, plot)
