"""Benchmark ``nlica.FastICA`` against scikit-learn's FastICA and python-picard.

For each size ``n_samples x n_features`` the script draws Laplace sources, mixes them with a
random square matrix (uniform(-1, 1) entries, unit-norm columns), and fits every method on
the same data with the same settings: ``whiten="unit-variance"``, ``fun="logcosh"``, the same
``max_iter``, ``tol`` and ``random_state``. It prints one aligned table: wall-clock seconds
(median over ``--repeats``), the ratio to scikit-learn's time (below 1 is faster), the Amari
distance of the unmixing to the true mixing (0 is perfect), iterations, and convergence.

Rows
----
- ``sklearn`` : :class:`sklearn.decomposition.FastICA`, default ``whiten_solver="svd"``;
  the baseline every ratio divides by.
- ``sklearn eigh`` : the same with ``whiten_solver="eigh"``.
- ``nlica numpy`` : ``nlica.FastICA(backend="numpy")`` with its defaults (``eigh``
  whitening, ``subsample="auto"`` warm start).
- ``nlica numpy no-subsample`` : the same with ``subsample=None``.
- ``nlica torch cpu`` : ``backend="torch", device="cpu"``.
- ``nlica torch cuda`` : ``backend="torch", device="cuda"``, only with ``--device cuda``
  or ``auto`` when CUDA is available; timed from the numpy array (host-to-device copy
  included) up to ``torch.cuda.synchronize()``.
- ``picard ortho`` : ``picard.picard(X.T, ortho=True, extended=False, fun="tanh")``,
  Picard-O, which optimises FastICA's logcosh objective with L-BFGS. Its ``tol`` bounds the
  gradient norm, not the change in ``W``, so its iteration counts are not comparable.

Every method first does one untimed fit on a small problem, so imports, thread pools and
CUDA initialisation are not timed. ``n_iter`` for nlica counts iterations on the full data
only (the subsample warm start is not counted).

Examples
--------
``python benchmarks/bench_fastica.py --quick``
``python benchmarks/bench_fastica.py --device auto --repeats 3 --json results/fastica.json``
"""

import argparse
import gc
import sys
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import _common  # noqa: E402

DEFAULT_SIZES = "10000x8,200000x32,1000000x64"
QUICK_SIZES = "10000x8,50000x16"
BASELINE = "sklearn"

COLUMNS = [
    ("size", "size", ""),
    ("method", "method", ""),
    ("seconds", "seconds", ".3f"),
    ("ratio", "ratio", ".3f"),
    ("amari", "amari", ".2e"),
    ("n_iter", "n_iter", "d"),
    ("converged", "converged", ""),
]


def make_data(n_samples, n_features, seed, dtype):
    """Draw Laplace sources and a random unit-norm-column mixing.

    Parameters
    ----------
    n_samples, n_features : int
        Data shape; there are as many sources as features.
    seed : int
        Seed of the generator.
    dtype : numpy dtype
        dtype of ``X``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Mixed data ``S @ A.T``, C-contiguous, in ``dtype``.
    A : ndarray of shape (n_features, n_features)
        True mixing matrix (float64).
    """
    rng = np.random.default_rng(seed)
    S = rng.laplace(size=(n_samples, n_features))
    A = rng.uniform(-1.0, 1.0, size=(n_features, n_features))
    A /= np.linalg.norm(A, axis=0, keepdims=True)
    X = np.ascontiguousarray((S @ A.T).astype(dtype, copy=False))
    return X, A


def _fit_estimator(est, X):
    """Fit an sklearn-style FastICA and return its data-space unmixing and iterations."""
    est.fit(X)
    return est.components_, int(est.n_iter_)


def make_methods(args, cuda):
    """Build the list of methods to time.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed command line (``max_iter``, ``tol``, ``seed``).
    cuda : bool
        Add the ``nlica torch cuda`` row.

    Returns
    -------
    methods : list of tuple
        ``(name, fit, sync)``: ``fit(X)`` returns ``(W, n_iter)`` with ``W`` the unmixing
        of centred data, shape (n_components, n_features); ``sync`` is None or a callable
        run before each clock stop.
    """
    from sklearn.decomposition import FastICA as SkFastICA

    import nlica

    common = dict(
        whiten="unit-variance",
        fun="logcosh",
        max_iter=args.max_iter,
        tol=args.tol,
        random_state=args.seed,
    )

    def sk(solver):
        return lambda X: _fit_estimator(
            SkFastICA(n_components=X.shape[1], whiten_solver=solver, **common), X
        )

    def nl(**kw):
        return lambda X: _fit_estimator(nlica.FastICA(n_components=X.shape[1], **common, **kw), X)

    def picard_fit(X):
        import picard

        K, W, _, n_iter = picard.picard(
            X.T,
            fun="tanh",
            n_components=X.shape[1],
            ortho=True,
            extended=False,
            whiten=True,
            return_n_iter=True,
            random_state=args.seed,
            max_iter=args.max_iter,
            tol=args.tol,
        )
        return W @ K, int(n_iter)

    methods = [
        (BASELINE, sk("svd"), None),
        ("sklearn eigh", sk("eigh"), None),
        ("nlica numpy", nl(backend="numpy"), None),
        ("nlica numpy no-subsample", nl(backend="numpy", subsample=None), None),
        ("nlica torch cpu", nl(backend="torch", device="cpu"), None),
    ]
    if cuda:
        import torch

        methods.append(
            ("nlica torch cuda", nl(backend="torch", device="cuda"), torch.cuda.synchronize)
        )
    try:
        import picard  # noqa: F401
    except ImportError:
        print("python-picard is not installed; skipping its row", file=sys.stderr)
    else:
        methods.append(("picard ortho", picard_fit, None))
    return methods


def want_cuda(device):
    """Decide whether to add the CUDA row.

    Parameters
    ----------
    device : {"cpu", "cuda", "auto"}
        The ``--device`` option.

    Returns
    -------
    cuda : bool
        True for ``"cuda"`` or ``"auto"`` when torch sees a CUDA device.
    """
    if device == "cpu":
        return False
    try:
        import torch

        available = torch.cuda.is_available()
    except ImportError:
        available = False
    if device == "cuda" and not available:
        print("--device cuda: CUDA is not available; skipping the torch cuda row", file=sys.stderr)
    return available


def warm_up(methods, dtype, seed):
    """Fit every method once, untimed, on a small problem.

    Parameters
    ----------
    methods : list of tuple
        Output of :func:`make_methods`.
    dtype : numpy dtype
        dtype of the data.
    seed : int
        Seed of the small problem.
    """
    X, _ = make_data(2000, 4, seed, dtype)
    for _, fit, sync in methods:
        try:
            _common.call_catching_convergence(fit, X)
            if sync is not None:
                sync()
        except Exception:  # noqa: BLE001 - the timed run reports the error
            pass


def _free_memory():
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def run_size(n_samples, n_features, methods, args, dtype):
    """Time every method on one size.

    Parameters
    ----------
    n_samples, n_features : int
        Data shape.
    methods : list of tuple
        Output of :func:`make_methods`.
    args : argparse.Namespace
        Parsed command line (``seed``, ``repeats``).
    dtype : numpy dtype
        dtype of the data.

    Returns
    -------
    rows : list of dict
        One row per method: size, method, seconds, ratio, amari, n_iter, converged, and
        ``error`` / ``warnings`` when there were any.
    """
    from nlica.metrics import amari_distance

    X, A = make_data(n_samples, n_features, args.seed, dtype)
    size = f"{n_samples}x{n_features}"
    rows = []
    for name, fit, sync in methods:
        row = {"size": size, "n_samples": n_samples, "n_features": n_features, "method": name}
        try:
            seconds, (W, n_iter), converged, others = _common.median_time(
                lambda fit=fit: fit(X), repeats=args.repeats, sync=sync
            )
        except Exception as exc:  # noqa: BLE001 - keep benchmarking the other rows
            row.update(
                seconds=None,
                amari=None,
                n_iter=None,
                converged=None,
                error=f"{type(exc).__name__}: {exc}",
            )
        else:
            row.update(
                seconds=seconds,
                amari=float(amari_distance(W, A)),
                n_iter=n_iter,
                converged="yes" if converged else "no",
            )
            if others:
                row["warnings"] = others
        rows.append(row)
        print(
            f"  {size:>14}  {name:<26} "
            + (f"{row['seconds']:.3f}s" if row["seconds"] is not None else row["error"]),
            file=sys.stderr,
            flush=True,
        )
        _free_memory()
    base = next((r["seconds"] for r in rows if r["method"] == BASELINE), None)
    for row in rows:
        row["ratio"] = row["seconds"] / base if base and row["seconds"] is not None else None
    return rows


def parse_args(argv=None):
    """Parse the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; ``None`` reads ``sys.argv``.

    Returns
    -------
    args : argparse.Namespace
        The options.
    """
    parser = argparse.ArgumentParser(
        description="Time nlica.FastICA (numpy, torch CPU/CUDA) against scikit-learn's "
        "FastICA and python-picard on Laplace sources."
    )
    parser.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help=f"comma-separated ROWSxCOLS (default {DEFAULT_SIZES})",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"smoke test: sizes {QUICK_SIZES} only"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="timed fits per method; the median is reported (default 1)",
    )
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default="cpu",
        help="'cuda' or 'auto' add the torch CUDA row when available",
    )
    parser.add_argument(
        "--dtype",
        choices=["float64", "float32"],
        default="float64",
        help="dtype of the data; every method computes in it (default float64)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write rows and environment here")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the data and every method's random_state"
    )
    parser.add_argument(
        "--max-iter",
        type=int,
        default=200,
        help="maximum iterations, same for every method (default 200)",
    )
    parser.add_argument(
        "--tol",
        type=float,
        default=1e-4,
        help="convergence tolerance, same for every method (default 1e-4)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.quick:
        args.sizes = QUICK_SIZES
    try:
        args.size_list = _common.parse_sizes(args.sizes)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv=None):
    """Run the benchmark, print the table and write JSON when asked.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments; ``None`` reads ``sys.argv``.

    Returns
    -------
    rows : list of dict
        All result rows.
    """
    args = parse_args(argv)
    dtype = np.dtype(args.dtype)
    cuda = want_cuda(args.device)
    methods = make_methods(args, cuda)
    info = _common.environment_info(gpu=cuda)
    settings = {
        "dtype": args.dtype,
        "max_iter": args.max_iter,
        "tol": args.tol,
        "seed": args.seed,
        "repeats": args.repeats,
        "whiten": "unit-variance",
        "fun": "logcosh",
    }

    warm_up(methods, dtype, args.seed)
    rows = []
    for n_samples, n_features in args.size_list:
        rows.extend(run_size(n_samples, n_features, methods, args, dtype))

    header = _common.format_header(
        "FastICA benchmark (ratio = seconds / sklearn seconds; <1 is faster)", info, settings
    )
    print(header)
    print()
    print(_common.format_table(rows, COLUMNS))
    notes = [f"{r['size']} {r['method']}: {r['error']}" for r in rows if r.get("error")]
    if notes:
        print("\nerrors:\n  " + "\n  ".join(notes))
    if args.json:
        path = _common.write_json(
            args.json,
            {"benchmark": "fastica", "environment": info, "settings": settings, "rows": rows},
        )
        print(f"\nwrote {path}")
    return rows


if __name__ == "__main__":
    main()
