"""Command line: ``python -m nlica demo | experiment NAME | bench``."""

import argparse
import csv
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["main", "run_demo", "run_bench"]


def _available_nonlinear():
    """Return the nonlinear estimators this install has, by name."""
    import nlica

    found = {}
    for name in ("TCL", "PCL", "SlowVAE"):
        try:
            found[name] = getattr(nlica, name)
        except (AttributeError, ImportError):
            continue
    return found


def run_demo(out_dir=".", *, n_sources=5, seed=0, quick=False, verbose=0, progress=False):
    """Run the identifiability demo: linear vs 2-layer MLP mixing, linear vs nonlinear ICA.

    The same sources are mixed linearly and by a 2-layer invertible MLP; FastICA and every
    available nonlinear estimator (PCL on temporally dependent sources, TCL on
    nonstationary ones) are fitted, and the MCC of each is printed with its rule.
    ``demo.png`` in ``out_dir`` shows the matched correlation matrices and the sources;
    ``demo.csv`` and ``demo.json`` hold the table.

    Parameters
    ----------
    out_dir : str or Path, default="."
        Folder for ``demo.png``, ``demo.csv`` and ``demo.json`` (created if missing).
    n_sources : int, default=5
        Number of sources.
    seed : int, default=0
        Seed of the data and the estimators.
    quick : bool, default=False
        Fewer samples and steps (a smoke test, lower MCC).
    verbose : int, default=0
        Verbosity of the estimators (1 log lines, 2 a progress bar per fit).
    progress : bool, default=False
        Report each finished fit (a tqdm bar on stderr; plain lines without tqdm).

    Returns
    -------
    rows : list of dict
        One row per (data, mixing, method) with ``mcc``, ``rule`` and ``seconds``.

    Examples
    --------
    >>> rows = run_demo("/tmp", quick=True)  # doctest: +SKIP
    """
    import nlica

    from .datasets import (
        make_ar_sources,
        make_mlp_mixing,
        make_nonstationary_sources,
    )
    from .experiments import _Progress
    from .metrics import mean_corr_coef

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(seed)
    n_samples = 2**12 if quick else 2**15
    seg_len, n_seg = (256, 16) if quick else (512, 64)
    nonlinear = _available_nonlinear()
    data = {
        "AR(1) Laplace": (make_ar_sources(n_sources, n_samples, random_state=rng), None),
        "nonstationary": make_nonstationary_sources(n_sources, n_seg, seg_len, random_state=rng),
    }
    mixings = {
        "linear": make_mlp_mixing(n_sources, 1, random_state=rng),
        "MLP, 2 layers": make_mlp_mixing(n_sources, 2, random_state=rng),
    }
    estimators = {"AR(1) Laplace": [], "nonstationary": []}
    estimators["AR(1) Laplace"].append(("FastICA", lambda: nlica.FastICA(random_state=seed),
                                        {}, "pearson vs s", False))
    if "PCL" in nonlinear:
        kw = {"max_iter": 300} if quick else {}
        estimators["AR(1) Laplace"].append(
            ("PCL", lambda: nonlinear["PCL"](random_state=seed, verbose=verbose, **kw), {},
             "pearson vs s", False))
    if "TCL" in nonlinear:
        estimators["nonstationary"].append(("FastICA", lambda: nlica.FastICA(random_state=seed),
                                            {}, "pearson vs |s|", True))
        kw = {"max_iter": 300} if quick else {}
        estimators["nonstationary"].append(
            ("TCL", lambda: nonlinear["TCL"](random_state=seed, verbose=verbose, **kw),
             {"segments": True}, "pearson vs |s|", True))

    rows, shown = [], {}
    n_fits = sum(len(estimators[d]) for d in data) * len(mixings)
    bar = _Progress(n_fits, "demo", enabled=progress)
    for data_name, (S, segments) in data.items():
        for mix_name, mixing in mixings.items():
            X = mixing(S)
            for method, make, fit_kw, rule, use_abs in estimators[data_name]:
                est = make()
                kwargs = {"segments": segments} if fit_kw.get("segments") else {}
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    S_est = est.fit(X, **kwargs).transform(X)
                seconds = time.perf_counter() - t0
                target = np.abs(S) if use_abs else S
                if use_abs and method == "FastICA":
                    # Linear ICA estimates s, not |s|: score its absolute values.
                    S_est = np.abs(S_est)
                mcc = mean_corr_coef(target, S_est)
                rows.append({"sources": data_name, "mixing": mix_name, "method": method,
                             "mcc": float(mcc), "rule": rule, "seconds": seconds})
                shown[(data_name, mix_name, method)] = (target, S_est, mcc, rule)
                bar.update(f"{method} on {data_name}, {mix_name}",
                           f"MCC {mcc:.3f}, {seconds:.1f}s")
    bar.close()
    _print_table(rows)
    written = [out_dir / "demo.json", out_dir / "demo.csv"]
    written[0].write_text(json.dumps(rows, indent=2))
    _write_csv(rows, written[1])
    path = _demo_figure(shown, out_dir / "demo.png")
    if path is not None:
        written.append(path)
    print("\nwrote " + ", ".join(map(str, written)))
    return rows


def _print_table(rows):
    header = f"{'sources':<15} {'mixing':<14} {'method':<8} {'MCC':>6}  {'rule':<15} {'time':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['sources']:<15} {r['mixing']:<14} {r['method']:<8} {r['mcc']:6.3f}  "
              f"{r['rule']:<15} {r['seconds']:6.1f}s")


def _demo_figure(shown, path):
    try:
        from .plotting import _plt, plot_correlation_matrix, plot_sources
    except ImportError:
        return None
    try:
        plt = _plt()
    except ImportError:
        print("matplotlib is not installed: no plot (pip install 'nlica[plot]').")
        return None
    keys = list(shown)
    fig = plt.figure(figsize=(4 * len(keys), 7.5))
    grid = fig.add_gridspec(2, len(keys), height_ratios=[1, 1.3])
    for col, key in enumerate(keys):
        target, S_est, mcc, rule = shown[key]
        ax = fig.add_subplot(grid[0, col])
        plot_correlation_matrix(target, S_est, ax=ax,
                                title=f"{key[2]} | {key[1]}\n{key[0]}: MCC {mcc:.3f}\n({rule})")
    # Sources of the hardest case each nonlinear method addresses.
    best = [k for k in keys if k[1].startswith("MLP")]
    sub = grid[1, :].subgridspec(target.shape[1], len(best), hspace=0.1)
    for col, key in enumerate(best):
        target, S_est, mcc, _ = shown[key]
        axes = np.array([fig.add_subplot(sub[i, col]) for i in range(target.shape[1])])
        plot_sources(target, S_est, n_points=300, axes=axes)
        axes[0].set_title(f"{key[2]} on {key[1]} ({key[0]})", fontsize="small")
        for a in axes[:-1]:
            a.set_xticklabels([])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m nlica",
        description="nlica: linear and nonlinear ICA. Run the demo, an experiment or the "
                    "benchmarks; each writes its table (CSV/JSON) and plots (PNG) to a "
                    "folder.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="identifiability demo: prints MCC, writes demo.csv/.json/.png",
        description="FastICA, TCL and PCL on linear and 2-layer MLP mixtures; prints the "
                    "MCC table and writes demo.csv, demo.json and demo.png to --out.")
    demo.add_argument("--out", default="demo_output",
                      help="output folder (default: demo_output)")
    demo.add_argument("--n-sources", type=int, default=5)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quick", action="store_true", help="small and fast (smoke test)")
    demo.add_argument("--progress", action="store_true",
                      help="a progress bar over the fits (plain lines without tqdm)")
    demo.add_argument("-v", "--verbose", type=int, default=0,
                      help="estimator verbosity (1 log lines, 2 a bar per fit); any "
                           "value above 0 also shows --progress")

    exp = sub.add_parser(
        "experiment", help="reproduce a paper's figure (tcl, pcl, slowvae)",
        description="Run `python -m nlica experiment NAME --help` for the options of "
                    "each; results go to --out (default: results).")
    exp.add_argument("name", help="tcl, pcl or slowvae")
    exp.add_argument("rest", nargs=argparse.REMAINDER, help="options of the experiment")

    bench = sub.add_parser(
        "bench", help="run the benchmarks in ./benchmarks",
        description="Run benchmarks/bench_*.py (a source checkout); each prints its table "
                    "and writes bench_NAME.json and bench_NAME.csv to --out. Options not "
                    "listed here are passed on to every benchmark script.")
    bench.add_argument("--out", default="results", help="output folder (default: results)")
    bench.add_argument("--only", nargs="+", metavar="NAME",
                       help="run these benchmarks only (e.g. fastica nonlinear)")
    bench.add_argument("--quick", action="store_true", help="small and fast (smoke test)")
    return parser


def main(argv=None):
    """Entry point of ``python -m nlica`` and the ``nlica`` command.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        Exit status.

    Examples
    --------
    >>> main(["demo", "--help"])  # doctest: +SKIP
    """
    parser = _build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "bench":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "demo":
        run_demo(args.out, n_sources=args.n_sources, seed=args.seed, quick=args.quick,
                 verbose=args.verbose, progress=args.progress or args.verbose > 0)
        return 0
    if args.command == "experiment":
        try:
            from . import experiments
        except ImportError as exc:
            print(f"experiments are not available in this install: {exc}", file=sys.stderr)
            return 2
        return experiments.main([args.name, *args.rest])
    if args.command == "bench":
        return run_bench(args.out, only=args.only, quick=args.quick, extra=extra)
    return 2  # pragma: no cover - argparse rejects other commands


def run_bench(out_dir="results", *, only=None, quick=False, extra=(), bench_dir=None):
    """Run the benchmark scripts of a source checkout and save their tables.

    Each ``benchmarks/bench_NAME.py`` prints its table and writes ``bench_NAME.json``
    (its rows and the environment); the rows are also written as ``bench_NAME.csv``.

    Parameters
    ----------
    out_dir : str or Path, default="results"
        Folder for the JSON and CSV files (created if missing).
    only : list of str, default=None
        Names of the benchmarks to run (``fastica`` for ``bench_fastica.py``); all when
        None.
    quick : bool, default=False
        Pass ``--quick`` to each script (a smoke test).
    extra : sequence of str, default=()
        Further options passed to every script.
    bench_dir : str or Path, default=None
        Folder of the ``bench_*.py`` scripts; None: ``benchmarks/`` of the source checkout
        this package runs from.

    Returns
    -------
    status : int
        0 on success, 2 when no (or an unknown) benchmark was found.

    Examples
    --------
    >>> run_bench("/tmp/bench", only=["fastica"], quick=True)  # doctest: +SKIP
    """
    import runpy

    bench_dir = (Path(__file__).resolve().parents[1] / "benchmarks" if bench_dir is None
                 else Path(bench_dir))
    scripts = {p.stem[len("bench_"):]: p for p in sorted(bench_dir.glob("bench_*.py"))}
    if not scripts:
        print("no benchmarks found: run from a source checkout of nlica.", file=sys.stderr)
        return 2
    unknown = sorted(set(only or ()) - set(scripts))
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; available: "
              f"{', '.join(scripts)}", file=sys.stderr)
        return 2
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in (only or list(scripts)):
        script = scripts[name]
        json_path = out_dir / f"bench_{name}.json"
        argv = [*(["--quick"] if quick else []), *extra, "--json", str(json_path)]
        print(f"== {script.name} {' '.join(argv)}", flush=True)
        # Load the script as a module (its __main__ block does not run) and call its main.
        namespace = runpy.run_path(str(script))
        result = namespace["main"](argv)
        rows = _bench_rows(result)
        if rows:
            csv_path = out_dir / f"bench_{name}.csv"
            _write_csv(rows, csv_path)
            print(f"wrote {json_path}, {csv_path}")
    return 0


def _bench_rows(result):
    """Flatten a benchmark's return value (rows, or rows by section) into rows."""
    if isinstance(result, dict):
        return [{"section": name, **row} for name, rows in result.items() for row in rows]
    return list(result or [])


def _write_csv(rows, path):
    """Write dict rows as CSV, with the union of their keys as columns (first seen first)."""
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
