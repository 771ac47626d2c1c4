"""Benchmark nlica on a GPU: FastICA at scale, training steps per second, paper-scale runs.

The one benchmark for the GPU machine (``benchmarks/gpu_check.sh`` runs it). Sections, chosen
with ``--sections`` (default: all, in this order):

``fastica``
    FastICA on 1 000 000 x 64 float32 data (Laplace sources, a random mixing with
    uniform(-1, 1) entries and unit-norm columns). ``nlica.FastICA(backend="torch",
    device="cuda")`` is timed from the numpy array (host-to-device copy included) up to
    ``torch.cuda.synchronize()``, against :class:`sklearn.decomposition.FastICA` (its
    defaults, ``whiten_solver="svd"``) on the CPU of the same machine and
    ``nlica.FastICA(backend="numpy")``, all on the same data with the same ``max_iter``,
    ``tol`` and seed. ``ratio`` is seconds / sklearn seconds (below 1 is faster); ``amari``
    is the Amari distance of each unmixing to the true mixing (0 is perfect). Then nlica on
    10 000 000 x 64 float32 on the GPU (target: under 1 s), with the time of the
    host-to-device copy alone beside it. nlica is fast here through its defaults,
    spelled out in the call: float32 data computed in float32, ``whiten_solver="eigh"``
    (whitening from the covariance, one pass over the data) and ``subsample="auto"``
    (iterate to convergence on a tenth of the rows, then finish on all of them).
``steps``
    Optimiser steps per second of TCL, PCL, SlowVAE (vectors, and 32 x 32 sprite frames) and
    IVAE (``warm_start=0``: its phase switches would recompile inside the timed steps)
    at a moderate size with a fixed ``max_iter``, ``n_init=1`` and no early stopping, on the
    CPU and on the GPU; on the GPU also with ``precision="bf16"`` and ``compile=True`` when
    the estimators have those parameters. The rate is read from ``history_`` after the first
    logging interval (100 steps), so start-up and compilation are not in it; ``fit s`` is
    the whole ``fit``. ``vs CPU`` is the rate over the CPU row's rate.
``tcl``, ``pcl``, ``slowvae``, ``ivae``
    The papers' scales through :mod:`nlica.experiments` (seed 0, FastICA alongside): TCL on
    20 sources, 256 segments x 512 samples, mixing depth 1 to 5; PCL on 20 sources, 2**18
    samples, depth 3; SlowVAE and a beta-VAE on 64 x 64 sprite sequences; IVAE on 5 sources,
    40 segments x 1000 samples (the iVAE paper's size, TCL's Laplace sources), depth 2 to 4
    (TCL has its own section, so no TCL beside it). Each MCC is
    computed as the experiment computes it, and its rule is printed beside it: TCL, Pearson
    of FastICA of the features against ``|s|`` (FastICA: its absolute estimates); PCL,
    Pearson of the features against ``s``; sprites, Spearman of the posterior means against
    the four continuous factors; IVAE, Pearson of the posterior means against ``s``. The
    estimators use the ``"fast"`` preset (the papers' own schedules take hours): TCL 6000,
    PCL 8000 and IVAE 6000 steps, SlowVAE 5000 (``--*-max-iter``).

``--budget`` seconds are shared out between the chosen sections (an earlier section's unused
time passes to the later ones); a row that would start after its section's time is up is
reported as skipped, so the script ends soon after the budget. With ``--json PATH`` the rows
and the environment are written after every section, so a run stopped early keeps what it
measured. Without CUDA the script says so and runs the CPU rows only.

Examples
--------
``python benchmarks/bench_gpu.py --json results/bench_gpu.json``
``python benchmarks/bench_gpu.py --sections fastica,steps --device cuda:1``
``python benchmarks/bench_gpu.py --quick --device cpu`` (a CPU smoke test, under a minute)
"""

import argparse
import gc
import sys
import time
import warnings
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import _common  # noqa: E402

SECTIONS = ("fastica", "steps", "tcl", "pcl", "slowvae", "ivae")
# Share of --budget per section, after estimates for an H100 at the full sizes.
SHARES = {"fastica": 0.18, "steps": 0.28, "tcl": 0.2, "pcl": 0.1, "slowvae": 0.16, "ivae": 0.08}
# Seconds: with the last row's overrun the full run stays under 8 minutes on an H100.
DEFAULT_BUDGET = 420.0
FASTICA_TARGET_S = 1.0

FULL = {
    "fastica": {"size": (1_000_000, 64), "large": (10_000_000, 64)},
    "steps": {"max_iter": 300},
    "tcl": {
        "n_sources": 20,
        "n_segments": 256,
        "segment_length": 512,
        "layers": (1, 2, 3, 4, 5),
        # The papers' networks only: no linear candidate beside them (mixing="auto").
        "params": {"mixing": "nonlinear"},
    },
    "pcl": {"n_sources": 20, "n_samples": 2**18, "layers": (3,), "params": {"mixing": "nonlinear"}},
    "slowvae": {"n_frames": 10_000, "image_size": 64, "n_groups": 10, "params": {"max_iter": 5000}},
    "ivae": {
        "n_sources": 5,
        "n_segments": 40,
        "segment_length": 1000,
        "layers": (2, 3, 4),
        "params": {},
    },
}
# Small enough for a CPU smoke test of every section in under a minute.
QUICK = {
    "fastica": {"size": (20_000, 8), "large": (100_000, 8)},
    "steps": {"max_iter": 200},
    "tcl": {
        "n_sources": 3,
        "n_segments": 16,
        "segment_length": 128,
        "layers": (1, 2),
        "params": {"max_iter": 300, "mixing": "nonlinear"},
    },
    "pcl": {
        "n_sources": 3,
        "n_samples": 4096,
        "layers": (2,),
        "params": {"max_iter": 300, "batch_size": 256, "mixing": "nonlinear"},
    },
    "slowvae": {
        "n_frames": 300,
        "image_size": 8,
        "n_groups": 3,
        "params": {"max_iter": 60, "batch_size": 8},
    },
    "ivae": {
        "n_sources": 3,
        "n_segments": 8,
        "segment_length": 128,
        "layers": (2,),
        "params": {"max_iter": 300},
    },
}

FASTICA_COLUMNS = [
    ("size", "size", ""),
    ("method", "method", ""),
    ("device", "device", ""),
    ("seconds", "seconds", ".3f"),
    ("ratio", "ratio", ".3f"),
    ("amari", "amari", ".2e"),
    ("n_iter", "n_iter", "d"),
    ("converged", "converged", ""),
    ("note", "note", ""),
]
STEPS_COLUMNS = [
    ("method", "method", ""),
    ("size", "size", ""),
    ("device", "device", ""),
    ("variant", "variant", ""),
    ("steps", "steps", "d"),
    ("steps_per_s", "steps/s", ".1f"),
    ("ms_per_step", "ms/step", ".2f"),
    ("speedup", "vs CPU", ".1f"),
    ("fit_seconds", "fit s", ".1f"),
    ("loss", "final loss", ".4f"),
    ("note", "note", ""),
]
PAPER_COLUMNS = [
    ("method", "method", ""),
    ("setting", "setting", ""),
    ("device", "device", ""),
    ("mcc", "MCC", ".3f"),
    ("seconds", "seconds", ".1f"),
    ("n_iter", "steps", "d"),
    ("rule_short", "MCC rule", ""),
    ("note", "note", ""),
]
MATCHING_NOTE = (
    "MCC: mean |correlation| of true and estimated sources after optimal "
    "(Hungarian) matching, on the training data; extra latents unmatched."
)
TITLES = {
    "fastica": "FastICA (ratio = seconds / sklearn seconds, <1 is faster; amari vs the "
    "true mixing)",
    "steps": "Training steps per second (after the first 100 steps; fit s = whole fit)",
    "tcl": "TCL at the paper's scale (MCC rule per row)",
    "pcl": "PCL at the paper's scale (MCC rule per row)",
    "slowvae": "SlowVAE on sprite sequences (MCC rule per row)",
    "ivae": "IVAE at the iVAE paper's size (MCC rule per row)",
}


# ------------------------------------------------------------------------------ plumbing
class Budget:
    """Deadlines of the sections: each may run until its cumulative share of the total.

    Parameters
    ----------
    total : float or None
        Seconds for all the sections; None or 0 means no limit.
    sections : sequence of str
        The sections to run, in order.
    """

    def __init__(self, total, sections):
        self.start = time.perf_counter()
        self.total = total if total else None
        shares = [SHARES[s] for s in sections]
        cumulative = np.cumsum(shares) / sum(shares)
        self.deadlines = {s: c for s, c in zip(sections, cumulative)}

    def expired(self, section):
        """Return whether ``section``'s time is up.

        Parameters
        ----------
        section : str
            Section name.

        Returns
        -------
        expired : bool
            True once the section's cumulative share of the budget has passed.
        """
        if self.total is None:
            return False
        return self.elapsed() > self.deadlines[section] * self.total

    def elapsed(self):
        """Return the seconds since the start.

        Returns
        -------
        seconds : float
            Wall-clock time since the budget was created.
        """
        return time.perf_counter() - self.start


def resolve_gpu(device):
    """Turn ``--device`` into the GPU to benchmark, or None with the reason.

    Parameters
    ----------
    device : str
        ``"cuda"``, ``"cuda:N"``, ``"auto"`` or ``"cpu"``.

    Returns
    -------
    gpu : str or None
        The CUDA device for the GPU rows, or None for CPU rows only.
    message : str
        Why there are no GPU rows (empty when there are).
    """
    import torch

    if device == "cpu":
        return None, "--device cpu: CPU rows only"
    if device == "auto":
        device = "cuda"
    if not device.startswith("cuda"):
        raise ValueError(f"--device must be cuda, cuda:N, auto or cpu; got {device!r}")
    if not torch.cuda.is_available():
        return None, (
            f"CUDA is not available (torch {torch.__version__}, built for CUDA "
            f"{torch.version.cuda}); running the CPU rows only"
        )
    index = torch.device(device).index
    if index is not None and index >= torch.cuda.device_count():
        return None, (
            f"{device} was asked for but {torch.cuda.device_count()} CUDA device(s) "
            "are visible; running the CPU rows only"
        )
    return device, ""


def _sync(device):
    """Return a function that waits for ``device``'s kernels (None on the CPU)."""
    if device is None or not str(device).startswith("cuda"):
        return None
    import torch

    return lambda: torch.cuda.synchronize(device)


def _free(device):
    gc.collect()
    if device is not None and str(device).startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


def _error(exc):
    return f"{type(exc).__name__}: {exc}"


def _skipped(section, **fields):
    return {"section": section, **fields, "status": "skipped", "note": "skipped (budget)"}


def _progress(text):
    print(f"[bench_gpu] {text}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- FastICA
def make_fastica_data(n_samples, n_features, seed, device="cpu", chunk=1_000_000):
    """Draw Laplace sources and mix them, in float32, in chunks on ``device``.

    Parameters
    ----------
    n_samples, n_features : int
        Data shape; there are as many sources as features.
    seed : int
        Seed of the mixing (numpy) and of the sources (a torch generator).
    device : str, default="cpu"
        Where the sources are drawn and mixed (a GPU makes 10M x 64 take a second).
    chunk : int, default=1_000_000
        Rows drawn at a time, to bound device memory.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Mixed data ``S @ A.T`` in float32, C-contiguous, in host memory.
    A : ndarray of shape (n_features, n_features)
        True mixing matrix (float64), uniform(-1, 1) entries, unit-norm columns.
    """
    import torch

    rng = np.random.default_rng(seed)
    A = rng.uniform(-1.0, 1.0, size=(n_features, n_features))
    A /= np.linalg.norm(A, axis=0, keepdims=True)
    At = torch.as_tensor(A.T, dtype=torch.float32, device=device)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    X = np.empty((n_samples, n_features), dtype=np.float32)
    for a in range(0, n_samples, chunk):
        m = min(chunk, n_samples - a)
        e = torch.empty((m, 2 * n_features), device=device).exponential_(generator=gen)
        # A unit Laplace variable is the difference of two unit exponentials.
        S = e[:, :n_features] - e[:, n_features:]
        X[a : a + m] = (S @ At).cpu().numpy()
    return X, A


def _fastica_params(args):
    return dict(
        whiten="unit-variance",
        fun="logcosh",
        max_iter=args.max_iter,
        tol=args.tol,
        random_state=args.seed,
    )


def _fit_sklearn(X, args):
    from sklearn.decomposition import FastICA as SkFastICA

    est = SkFastICA(n_components=X.shape[1], **_fastica_params(args)).fit(X)
    return est.components_, int(est.n_iter_)


def _fit_nlica(X, args, backend, device):
    import nlica

    est = nlica.FastICA(
        n_components=X.shape[1],
        backend=backend,
        device=device,
        whiten_solver="eigh",
        subsample="auto",
        **_fastica_params(args),
    )
    est.fit(X)
    return est.components_, int(est.n_iter_)


def _time_fastica_row(section_rows, size, method, device, fit, repeats, sync, A):
    from nlica.metrics import amari_distance

    row = {"section": "fastica", "size": size, "method": method, "device": device}
    try:
        seconds, (W, n_iter), converged, others = _common.median_time(
            fit, repeats=repeats, sync=sync
        )
    except Exception as exc:  # noqa: BLE001 - a failed row must not end the benchmark
        row.update(status="error", error=_error(exc), note=_error(exc)[:80])
    else:
        row.update(
            seconds=seconds,
            amari=float(amari_distance(W, A)),
            n_iter=n_iter,
            converged="yes" if converged else "no",
            status="ok",
            repeats=repeats,
        )
        if others:
            row["warnings"] = others
    section_rows.append(row)
    _progress(
        f"fastica {size} {method} on {device}: "
        + (f"{row['seconds']:.3f}s" if "seconds" in row else row["error"])
    )
    return row


def warm_up_fastica(gpu, args):
    """Fit every FastICA variant once on a small problem (imports, threads, CUDA context).

    Parameters
    ----------
    gpu : str or None
        The CUDA device, if any.
    args : argparse.Namespace
        Parsed command line.
    """
    X, _ = make_fastica_data(20_000, 8, args.seed + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _fit_sklearn(X, args)
        _fit_nlica(X, args, "numpy", "cpu")
        _fit_nlica(X, args, "torch", gpu or "cpu")
    if gpu is not None:
        import torch

        torch.cuda.synchronize(gpu)


def section_fastica(ctx):
    """FastICA: nlica on the GPU vs scikit-learn on the CPU, then a 10M-row fit.

    Parameters
    ----------
    ctx : argparse.Namespace
        Run context (``args``, ``cfg``, ``gpu``, ``budget``).

    Returns
    -------
    rows : list of dict
        One row per method and size.
    """
    warm_up_fastica(ctx.gpu, ctx.args)
    rows = _fastica_comparison(ctx)
    _free(ctx.gpu)
    rows.append(_fastica_large(ctx))
    _free(ctx.gpu)
    return rows


def _fastica_comparison(ctx):
    args, gpu = ctx.args, ctx.gpu
    n, k = ctx.cfg["fastica"]["size"]
    size = f"{n}x{k}"
    torch_device = gpu or "cpu"
    X, A = make_fastica_data(n, k, args.seed, torch_device)
    methods = [
        ("sklearn", "cpu", lambda: _fit_sklearn(X, args), 1, None),
        ("nlica numpy", "cpu", lambda: _fit_nlica(X, args, "numpy", "cpu"), args.repeats, None),
        (
            "nlica torch",
            torch_device,
            lambda: _fit_nlica(X, args, "torch", torch_device),
            args.repeats,
            _sync(gpu),
        ),
    ]
    rows = []
    for method, device, fit, repeats, sync in methods:
        if ctx.budget.expired("fastica"):
            rows.append(_skipped("fastica", size=size, method=method, device=device))
            continue
        _time_fastica_row(rows, size, method, device, fit, repeats, sync, A)
        _free(gpu)
    base = next((r.get("seconds") for r in rows if r["method"] == "sklearn"), None)
    for row in rows:
        if base and row.get("seconds") is not None:
            row["ratio"] = row["seconds"] / base
    return rows


def _fastica_large(ctx):
    args, gpu = ctx.args, ctx.gpu
    n, k = ctx.cfg["fastica"]["large"]
    size = f"{n}x{k}"
    torch_device = gpu or "cpu"
    if gpu is None and not args.quick:
        return {
            "section": "fastica",
            "size": size,
            "method": "nlica torch",
            "device": "-",
            "status": "skipped",
            "note": "skipped (no GPU; --quick runs a small stand-in on the CPU)",
        }
    if ctx.budget.expired("fastica"):
        return _skipped("fastica", size=size, method="nlica torch", device=torch_device)
    X, A = make_fastica_data(n, k, args.seed, torch_device)
    rows = []
    row = _time_fastica_row(
        rows,
        size,
        "nlica torch",
        torch_device,
        lambda: _fit_nlica(X, args, "torch", torch_device),
        args.repeats,
        _sync(gpu),
        A,
    )
    _free(gpu)
    if args.quick:
        row["note"] = "quick stand-in for the 10M x 64 row"
    elif row.get("seconds") is not None:
        row["target_seconds"] = FASTICA_TARGET_S
        row["target_met"] = row["seconds"] < FASTICA_TARGET_S
        note = f"target < {FASTICA_TARGET_S:g} s: {'met' if row['target_met'] else 'missed'}"
        if gpu is not None:
            import torch

            # The copy alone, for reference: the fit above includes it.
            start = time.perf_counter()
            Xt = torch.tensor(X, device=gpu)
            torch.cuda.synchronize(gpu)
            row["h2d_seconds"] = time.perf_counter() - start
            del Xt
            note += f"; host-to-device copy alone {row['h2d_seconds']:.3f} s"
        row["note"] = note
    return row


# --------------------------------------------------------------------------------- steps
# Sizes of the steps section's problems, quick (a CPU smoke test) and full: k sources, L
# mixing layers; pcl (rows, label); vae (rows, label, layers, groups); sprites (frames,
# image size, groups, batch size).
_STEPS_SIZES = {
    True: dict(
        k=3, L=2, segments=(8, 128), pcl=(4096, "4096"), pcl_params={"batch_size": 256},
        vae=(2048, "2048", 1, 2), vae_params={"hidden_layer_sizes": (16, 16), "batch_size": 32},
        sprites=(300, 8, 3, 8),
    ),
    False: dict(
        k=10, L=3, segments=(64, 512), pcl=(2**16, "2^16"), pcl_params={},
        vae=(2**15, "2^15", 2, 4), vae_params={}, sprites=(4000, 32, 10, 64),
    ),
}  # fmt: skip


def _steps_specs(quick):
    """Return the problems of the steps section: (method, size, data, params, fit_kw)."""
    from nlica import datasets
    from nlica._sprites import make_sprite_sequences

    z = _STEPS_SIZES[bool(quick)]
    k, L, (n_seg, seg_len) = z["k"], z["L"], z["segments"]
    n_pcl, pcl_label = z["pcl"]
    n_vae, vae_label, vae_layers, vae_groups = z["vae"]
    n_frames, size, n_groups, sprite_batch = z["sprites"]
    tcl = (
        "TCL",
        f"{k} src, {n_seg}x{seg_len}, L={L}",
        lambda s: datasets.make_tcl_dataset(
            k, n_layers=L, n_segments=n_seg, segment_length=seg_len, random_state=s
        ),
        {"n_layers": L},
        lambda d: {"segments": d.segments},
    )
    return [
        tcl,
        (
            "PCL",
            f"{k} src, {pcl_label}, L={L}",
            lambda s: datasets.make_pcl_dataset(k, n_layers=L, n_samples=n_pcl, random_state=s),
            {"n_layers": L, **z["pcl_params"]},
            lambda d: {},
        ),
        (
            "SlowVAE",
            f"{k} src, {vae_label}, vectors",
            lambda s: datasets.make_slowvae_dataset(
                k, n_layers=vae_layers, n_samples=n_vae, n_groups=vae_groups, random_state=s
            ),
            dict(z["vae_params"]),
            lambda d: {"groups": d.groups},
        ),
        (
            "SlowVAE",
            f"{n_frames} frames {size}x{size}",
            lambda s: make_sprite_sequences(
                n_frames, image_size=size, n_groups=n_groups, random_state=s
            ),
            {"image_shape": (1, size, size), "batch_size": sprite_batch},
            lambda d: {"groups": d.groups},
        ),
        # IVAE on TCL's data, without the warm start: its phase switches (at steps 25 and
        # 150 of 300) each compile new graphs with compile=True, which the H200 run timed
        # as 39 steps/s against 194 uncompiled; the row measures the steady step.
        ("IVAE", *tcl[1:3], {**tcl[3], "warm_start": 0.0}, tcl[4]),
    ]


def steady_rate(history):
    """Return steps per second from a training history, after its first logging interval.

    Parameters
    ----------
    history : list of dict
        ``history_`` of a fitted estimator (records with ``step`` and ``time``).

    Returns
    -------
    rate : float or None
        Steps per second between the first and the last record, or over the whole run when
        there is only one record; None without records.
    """
    if not history:
        return None
    last = history[-1]
    if len(history) >= 2:
        first = history[0]
        span = last["time"] - first["time"]
        return (last["step"] - first["step"]) / span if span > 0 else None
    return last["step"] / last["time"] if last["time"] > 0 else None


def _variants(cls, gpu):
    """Return (device, variant name, extra params) of each row of one estimator."""
    params = cls().get_params()
    rows = [("cpu", "float32", {})]
    if gpu is None:
        return rows, []
    rows.append((gpu, "float32", {}))
    # Compiled rows come last (compiling is slow; the budget may cut them), the fastest
    # combination first.
    later = []
    if "precision" in params:
        rows.append((gpu, "bf16", {"precision": "bf16"}))
    if "compile" in params:
        if "precision" in params:
            later.append((gpu, "bf16+compile", {"precision": "bf16", "compile": True}))
        later.append((gpu, "compile", {"compile": True}))
    return rows, later


def _steps_row(ctx, spec, data, device, variant, extra):
    import nlica

    method, size, _, params, fit_kw = spec
    cls = getattr(nlica, method)
    row = {"section": "steps", "method": method, "size": size, "device": device, "variant": variant}
    # Steps per second of one network: no linear candidate beside it.
    one_model = {"mixing": "nonlinear"} if "mixing" in cls().get_params() else {}
    est = cls(
        **params,
        **extra,
        **one_model,
        max_iter=ctx.cfg["steps"]["max_iter"],
        n_init=1,
        n_iter_no_change=None,
        random_state=ctx.args.seed,
        device=device,
    )
    sync = _sync(device)
    if extra.get("compile"):
        import torch

        # Each fit compiles a new closure; dynamo's cache of earlier ones would count
        # towards its recompile limit, past which it silently runs eagerly.
        torch._dynamo.reset()
    try:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(data.X, **fit_kw(data))
        if sync is not None:
            sync()
        fit_seconds = time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001 - a failed row must not end the benchmark
        row.update(status="error", error=_error(exc), note=_error(exc)[:80])
        return row
    rate = steady_rate(est.history_)
    loss = est.history_[-1]["loss"] if est.history_ else None
    row.update(
        status="ok",
        steps=int(est.n_iter_),
        steps_per_s=rate,
        ms_per_step=1000.0 / rate if rate else None,
        fit_seconds=fit_seconds,
        loss=loss,
    )
    if loss is None or not np.isfinite(loss):
        row["note"] = "non-finite loss"
    return row


def section_steps(ctx):
    """Optimiser steps per second on the CPU and the GPU (bf16 / compile when available).

    Parameters
    ----------
    ctx : argparse.Namespace
        Run context (``args``, ``cfg``, ``gpu``, ``budget``).

    Returns
    -------
    rows : list of dict
        One row per (estimator, problem, device, variant).
    """
    import nlica

    rows, deferred = [], []
    specs = _steps_specs(ctx.args.quick)
    datas = {}
    if ctx.gpu is not None:
        _warm_up_training(ctx.gpu)
    for i, spec in enumerate(specs):
        first, later = _variants(getattr(nlica, spec[0]), ctx.gpu)
        deferred.extend((rank, i, *v) for rank, v in enumerate(later))
        for j, (device, variant, extra) in enumerate(first):
            rows.append(_run_steps(ctx, spec, datas, i, device, variant, extra))
            rows[-1]["cpu_baseline"] = j == 0  # what "vs CPU" divides by
    # Every estimator's first compiled variant before any second one.
    for _, i, device, variant, extra in sorted(deferred, key=lambda d: d[:2]):
        rows.append(_run_steps(ctx, specs[i], datas, i, device, variant, extra))
    cpu_rate = {
        (r["method"], r["size"]): r.get("steps_per_s") for r in rows if r.get("cpu_baseline")
    }
    for r in rows:
        base = cpu_rate.get((r["method"], r["size"]))
        if base and r.get("steps_per_s"):
            r["speedup"] = r["steps_per_s"] / base
    return rows


def _run_steps(ctx, spec, datas, i, device, variant, extra):
    method, size = spec[0], spec[1]
    if ctx.budget.expired("steps"):
        return _skipped("steps", method=method, size=size, device=device, variant=variant)
    if i not in datas:
        datas[i] = spec[2](ctx.args.seed)
    row = _steps_row(ctx, spec, datas[i], device, variant, extra)
    _progress(
        f"steps {method} {size} {device} {variant}: "
        + (
            f"{row['steps_per_s']:.1f} steps/s"
            if row.get("steps_per_s")
            else row.get("error", "no rate")
        )
    )
    _free(device)
    return row


def _warm_up_training(gpu):
    """One tiny TCL fit on the GPU so that the first timed row pays no CUDA set-up."""
    from nlica import TCL
    from nlica.datasets import make_tcl_dataset

    data = make_tcl_dataset(3, n_layers=2, n_segments=4, segment_length=64, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        TCL(n_layers=2, max_iter=20, random_state=0, device=gpu).fit(data.X, segments=data.segments)


# --------------------------------------------------------------------------- paper scale
def _paper_row(section, r, setting):
    row = {
        "section": section,
        "method": r["method"],
        "setting": setting,
        "device": r["device"] if r["method"] != "FastICA" else "auto",
        "mcc": r["mcc"],
        "seconds": r["seconds"],
        "n_iter": r.get("n_iter"),
        "rule": r["rule"],
        "seed": r.get("seed"),
        "status": "ok",
        # The table leaves out what every row shares (see MATCHING_NOTE).
        "rule_short": r["rule"].replace(", Hungarian matching (extra latents unmatched)", ""),
    }
    factors = [f for f in ("scale", "orientation", "x", "y") if r.get(f"mcc_{f}") is not None]
    if factors:
        row["per_factor"] = {f: r[f"mcc_{f}"] for f in factors}
        row["note"] = " ".join(f"{f} {r[f'mcc_{f}']:.2f}" for f in factors)
    return row


def _paper_jobs(ctx, section, jobs):
    """Run ``(setting, call)`` jobs in order within the section's budget."""
    rows = []
    for setting, call in jobs:
        if ctx.budget.expired(section):
            rows.append(
                _skipped(section, method=section.upper(), setting=setting, device=ctx.device)
            )
            continue
        start = time.perf_counter()
        try:
            out = call()
        except Exception as exc:  # noqa: BLE001 - a failed row must not end the benchmark
            rows.append(
                {
                    "section": section,
                    "method": section.upper(),
                    "setting": setting,
                    "device": ctx.device,
                    "status": "error",
                    "error": _error(exc),
                    "note": _error(exc)[:80],
                }
            )
            _progress(f"{section} {setting}: {_error(exc)}")
        else:
            rows.extend(_paper_row(section, r, setting) for r in out)
            _progress(
                f"{section} {setting}: "
                + ", ".join(f"{r['method']} MCC {r['mcc']:.3f}" for r in out)
                + f" ({time.perf_counter() - start:.1f}s)"
            )
        _free(ctx.gpu)
    return rows


def _with_max_iter(params, max_iter):
    params = dict(params)
    if max_iter is not None:
        params["max_iter"] = max_iter
    return params


def _depth_jobs(ctx, section, run, describe, **run_kwargs):
    """Run one paper-scale job per depth in ``ctx.cfg[section]["layers"]``.

    Each job is ``run([L], n_seeds=1, device=..., estimator_params=..., **run_kwargs)``,
    labelled ``"L=..., " + describe(cfg)``; ``--SECTION-max-iter`` caps the steps.
    """
    cfg = ctx.cfg[section]
    params = _with_max_iter(cfg["params"], getattr(ctx.args, f"{section}_max_iter"))
    jobs = [
        (
            f"L={L}, {describe(cfg)}",
            lambda L=L: run(
                [L], n_seeds=1, device=ctx.device, estimator_params=params, **run_kwargs
            ),
        )
        for L in cfg["layers"]
    ]
    return _paper_jobs(ctx, section, jobs)


def section_tcl(ctx):
    """TCL at the paper's scale, one job per mixing depth.

    Parameters
    ----------
    ctx : argparse.Namespace
        Run context.

    Returns
    -------
    rows : list of dict
        TCL and FastICA rows per depth, or skipped rows.
    """
    from nlica.experiments import run_tcl_experiment

    cfg = ctx.cfg["tcl"]
    return _depth_jobs(
        ctx,
        "tcl",
        run_tcl_experiment,
        lambda c: f"{c['n_sources']} src, {c['n_segments']}x{c['segment_length']}",
        segments=[cfg["n_segments"]],
        n_sources=cfg["n_sources"],
        segment_length=cfg["segment_length"],
    )


def section_pcl(ctx):
    """PCL at the paper's scale.

    Parameters
    ----------
    ctx : argparse.Namespace
        Run context.

    Returns
    -------
    rows : list of dict
        PCL and FastICA rows per depth, or skipped rows.
    """
    from nlica.experiments import run_pcl_experiment

    cfg = ctx.cfg["pcl"]
    return _depth_jobs(
        ctx,
        "pcl",
        run_pcl_experiment,
        lambda c: f"{c['n_sources']} src, {c['n_samples']} samples",
        n_sources=cfg["n_sources"],
        n_samples=cfg["n_samples"],
    )


def section_slowvae(ctx):
    """SlowVAE and a beta-VAE on sprite sequences (Laplace transitions).

    Parameters
    ----------
    ctx : argparse.Namespace
        Run context.

    Returns
    -------
    rows : list of dict
        SlowVAE, beta-VAE and FastICA rows, or a skipped row.
    """
    from nlica.experiments import run_slowvae_experiment

    cfg = ctx.cfg["slowvae"]
    params = _with_max_iter(cfg["params"], ctx.args.slowvae_max_iter)
    size = cfg["image_size"]
    setting = f"{cfg['n_frames']} frames {size}x{size}, laplace"
    job = (
        setting,
        lambda: run_slowvae_experiment(
            "sprites",
            transitions=("laplace",),
            n_seeds=1,
            n_frames=cfg["n_frames"],
            image_size=size,
            n_groups=cfg["n_groups"],
            device=ctx.device,
            estimator_params=params,
        ),
    )
    return _paper_jobs(ctx, "slowvae", [job])


def section_ivae(ctx):
    """IVAE at the iVAE paper's size (5 sources, 40 segments x 1000), one job per depth.

    Parameters
    ----------
    ctx : argparse.Namespace
        Run context.

    Returns
    -------
    rows : list of dict
        IVAE rows per depth, or skipped rows.
    """
    from nlica.experiments import run_ivae_experiment

    cfg = ctx.cfg["ivae"]
    return _depth_jobs(
        ctx,
        "ivae",
        run_ivae_experiment,
        lambda c: f"{c['n_sources']} src, {c['n_segments']}x{c['segment_length']}",
        n_sources=cfg["n_sources"],
        n_segments=cfg["n_segments"],
        segment_length=cfg["segment_length"],
        baselines=False,
    )


RUNNERS = {
    "fastica": (section_fastica, FASTICA_COLUMNS),
    "steps": (section_steps, STEPS_COLUMNS),
    "tcl": (section_tcl, PAPER_COLUMNS),
    "pcl": (section_pcl, PAPER_COLUMNS),
    "slowvae": (section_slowvae, PAPER_COLUMNS),
    "ivae": (section_ivae, PAPER_COLUMNS),
}


# ---------------------------------------------------------------------------------- main
def parse_args(argv=None):
    """Parse the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; ``None`` reads ``sys.argv``.

    Returns
    -------
    args : argparse.Namespace
        The options, with ``section_list`` the chosen sections in order.
    """
    parser = argparse.ArgumentParser(
        description="Benchmark nlica on a GPU: FastICA at scale, training steps per "
        "second, paper-scale TCL / PCL / SlowVAE / IVAE runs."
    )
    parser.add_argument(
        "--device",
        default="cuda",
        help="cuda, cuda:N, auto or cpu (default cuda; without CUDA only the CPU rows run)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: every section in under a minute on a CPU"
    )
    parser.add_argument("--json", metavar="PATH", help="also write rows and environment here")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated, from {','.join(SECTIONS)} (default all)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET,
        help="seconds shared out between the sections; rows that would "
        f"start later are skipped; 0: no limit (default "
        f"{DEFAULT_BUDGET:g})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the FastICA data and of the steps estimators"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed nlica FastICA fits, median reported (sklearn: one)",
    )
    parser.add_argument("--max-iter", type=int, default=200, help="FastICA max_iter")
    parser.add_argument("--tol", type=float, default=1e-4, help="FastICA tol")
    parser.add_argument(
        "--cpu-threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's own; with --quick: 1, "
        "so a smoke test on a busy machine stays short)",
    )
    parser.add_argument(
        "--tcl-max-iter",
        type=int,
        default=None,
        help="TCL steps in the tcl section (default: the preset's)",
    )
    parser.add_argument(
        "--pcl-max-iter",
        type=int,
        default=None,
        help="PCL steps in the pcl section (default: the preset's)",
    )
    parser.add_argument(
        "--slowvae-max-iter",
        type=int,
        default=None,
        help="SlowVAE steps in the slowvae section (default 5000)",
    )
    parser.add_argument(
        "--ivae-max-iter",
        type=int,
        default=None,
        help="IVAE steps in the ivae section (default: the preset's)",
    )
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown or not names:
        parser.error(f"--sections: unknown {unknown}; choose from {','.join(SECTIONS)}")
    args.section_list = [s for s in SECTIONS if s in names]
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def _payload(ctx, info, sections):
    rows = [r for s in sections.values() for r in s]
    return {
        "benchmark": "gpu",
        "environment": info,
        "settings": ctx.settings,
        "gpu": ctx.gpu,
        "message": ctx.message,
        "sections": sections,
        "rows": rows,
        "elapsed_seconds": ctx.budget.elapsed(),
    }


def main(argv=None):
    """Run the chosen sections, print a table per section and write JSON when asked.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments; ``None`` reads ``sys.argv``.

    Returns
    -------
    sections : dict
        Rows of each section that ran, by section name.
    """
    args = parse_args(argv)
    import torch

    n_threads = torch.get_num_threads()
    threads = args.cpu_threads or (1 if args.quick else None)
    if threads:
        torch.set_num_threads(threads)
    try:
        return _run(args)
    finally:
        # main() may be called from a test: leave torch as it was found.
        torch.set_num_threads(n_threads)


def _run(args):
    import torch

    gpu, message = resolve_gpu(args.device)
    if message:
        print(f"bench_gpu: {message}", file=sys.stderr, flush=True)
    cfg = QUICK if args.quick else FULL
    ctx = argparse.Namespace(
        args=args,
        cfg=cfg,
        gpu=gpu,
        message=message,
        device=gpu or "cpu",
        budget=Budget(args.budget, args.section_list),
    )
    ctx.settings = {
        "sections": args.section_list,
        "quick": args.quick,
        "budget_s": args.budget,
        "seed": args.seed,
        "cpu_threads": torch.get_num_threads(),
        "fastica": {
            **cfg["fastica"],
            "dtype": "float32",
            "max_iter": args.max_iter,
            "tol": args.tol,
            "repeats": args.repeats,
            "whiten_solver": "eigh",
            "subsample": "auto",
            "sklearn_whiten_solver": "svd",
        },
        "steps": cfg["steps"],
        "tcl": {
            **cfg["tcl"],
            "preset": "fast",
            "params": _with_max_iter(cfg["tcl"]["params"], args.tcl_max_iter),
        },
        "pcl": {
            **cfg["pcl"],
            "preset": "fast",
            "params": _with_max_iter(cfg["pcl"]["params"], args.pcl_max_iter),
        },
        "slowvae": {
            **cfg["slowvae"],
            "transitions": "laplace",
            "params": _with_max_iter(cfg["slowvae"]["params"], args.slowvae_max_iter),
        },
        "ivae": {
            **cfg["ivae"],
            "preset": "fast",
            "params": _with_max_iter(cfg["ivae"]["params"], args.ivae_max_iter),
        },
    }
    info = _common.environment_info(gpu=gpu is not None)
    extra = {
        "sections": ",".join(args.section_list),
        "budget": f"{args.budget:g} s" if args.budget else "none",
        "quick": args.quick,
    }
    if gpu is None:
        extra["GPU"] = f"none ({message})"
    else:
        extra["device"] = gpu
    print(_common.format_header("nlica GPU benchmark", info, extra), flush=True)

    sections = {}
    for name in args.section_list:
        runner, columns = RUNNERS[name]
        _progress(f"section {name} (elapsed {ctx.budget.elapsed():.0f}s)")
        if ctx.budget.expired(name):
            rows = [_skipped(name, method="(all)")]
        else:
            try:
                rows = runner(ctx)
            except Exception as exc:  # noqa: BLE001 - later sections still run
                rows = [
                    {
                        "section": name,
                        "method": "(section)",
                        "status": "error",
                        "error": _error(exc),
                        "note": _error(exc)[:80],
                    }
                ]
        sections[name] = rows
        title = TITLES[name] + (" [--quick: tiny stand-in sizes]" if args.quick else "")
        print(f"\n{title}\n" + _common.format_table(rows, columns), flush=True)
        if columns is PAPER_COLUMNS:
            print(MATCHING_NOTE, flush=True)
        errors = [r for r in rows if r.get("status") == "error"]
        for r in errors:
            print(f"  error in {r.get('method')}: {r['error']}", flush=True)
        if args.json:
            _common.write_json(args.json, _payload(ctx, info, sections))
    print(
        f"\ntotal {ctx.budget.elapsed():.1f} s" + (f"; wrote {args.json}" if args.json else ""),
        flush=True,
    )
    return sections


if __name__ == "__main__":
    main()
