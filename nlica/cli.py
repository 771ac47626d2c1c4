"""Command line: ``python -m nlica demo | experiment NAME | bench``: the only parser."""

import argparse
import inspect
import runpy
import sys
from pathlib import Path

from . import experiments
from .experiments import run_demo
from .experiments._runner import write_csv

__all__ = ["main", "run_demo", "run_bench"]

# Benchmarks run only when named in --only (they need hardware CI does not have).
_ON_REQUEST = {"gpu"}


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m nlica",
        description="nlica: linear and nonlinear ICA. Run the demo, an experiment or the "
        "benchmarks; each writes its table (CSV/JSON) and plots (PNG) to a "
        "folder.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        help="identifiability demo: prints MCC, writes demo.csv/.json/.png",
        description="FastICA, TCL and PCL on linear and 2-layer MLP mixtures; prints the "
        "MCC table and writes demo.csv, demo.json and demo.png to --out.",
    )
    demo.add_argument("--out", default="demo_output", help="output folder (default: demo_output)")
    demo.add_argument("--n-sources", type=int, default=5)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quick", action="store_true", help="small and fast (smoke test)")
    demo.add_argument(
        "--progress",
        action="store_true",
        help="a progress bar over the fits (plain lines without tqdm)",
    )
    demo.add_argument(
        "-v",
        "--verbose",
        type=int,
        default=0,
        help="estimator verbosity (1 log lines, 2 a bar per fit); any "
        "value above 0 also shows --progress",
    )

    exp = sub.add_parser(
        "experiment",
        help="reproduce a paper's figure (tcl, pcl, slowvae, ivae)",
        description="Run `python -m nlica experiment NAME --help` for the options of "
        "each; results go to --out (default: results).",
    )
    names = exp.add_subparsers(dest="name", required=True, metavar="NAME")
    for name, help_text in (
        ("tcl", "TCL: MCC against segments, a curve per depth"),
        ("pcl", "PCL: MCC against mixing depth"),
        ("slowvae", "SlowVAE: vector toys and sprite sequences"),
        ("ivae", "IVAE: MCC against mixing depth, beside TCL and FastICA on the same data"),
    ):
        _add_experiment_options(names.add_parser(name, help=help_text, description=help_text), name)

    bench = sub.add_parser(
        "bench",
        help="run the benchmarks in ./benchmarks",
        description="Run benchmarks/bench_*.py (a source checkout); each prints its table "
        "and writes bench_NAME.json and bench_NAME.csv to --out. Options not "
        "listed here are passed on to every benchmark script.",
    )
    bench.add_argument("--out", default="results", help="output folder (default: results)")
    bench.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run these benchmarks only (e.g. fastica nonlinear); the GPU "
        "benchmark runs only when named here (--only gpu)",
    )
    bench.add_argument("--quick", action="store_true", help="small and fast (smoke test)")
    return parser


def _add_experiment_options(parser, name):
    """Add the options of one experiment: the sweep's own, then the shared ones."""
    depths = {"slowvae": [1, 2, 3], "ivae": [1, 2, 3, 4]}.get(name, [1, 2, 3, 4, 5])
    parser.add_argument(
        "--layers",
        type=int,
        nargs="+",
        # None for ivae: --quick then picks its own depths.
        default=None if name == "ivae" else depths,
        help=f"mixing depths{' of the vector part' if name == 'slowvae' else ''} "
        f"(default {' '.join(map(str, depths))}"
        f"{'; 1 2 with --quick' if name == 'ivae' else ''})",
    )
    if name == "tcl":
        parser.add_argument(
            "--segments",
            type=int,
            nargs="+",
            default=[8, 16, 32, 64, 128, 256],
            help="numbers of segments",
        )
        parser.add_argument("--segment-length", type=int, default=256)
    elif name == "pcl":
        parser.add_argument("--n-samples", type=int, default=2**15)
    elif name == "ivae":
        parser.add_argument("--n-segments", type=int, default=None, help="default 64 (16 quick)")
        parser.add_argument(
            "--segment-length", type=int, default=None, help="default 512 (128 quick)"
        )
        parser.add_argument(
            "--snr-db",
            type=float,
            default=None,
            help="add white Gaussian observation noise at this SNR in dB (default: none)",
        )
        parser.add_argument(
            "--no-baselines", action="store_true", help="fit IVAE only (no TCL, no FastICA)"
        )
        parser.add_argument(
            "--quick",
            action="store_true",
            help="small and fast (smoke test): depths 1 2, 16 segments of 128, one seed, 500 steps",
        )
    else:
        parser.add_argument("--part", default="both", choices=["vector", "sprites", "both"])
        parser.add_argument(
            "--n-samples", type=int, default=2**15, help="samples of the vector part"
        )
        parser.add_argument(
            "--transitions",
            nargs="+",
            default=["laplace"],
            choices=["laplace", "natural"],
            help="sprite transitions",
        )
        parser.add_argument(
            "--image-size",
            type=int,
            default=32,
            choices=[8, 16, 32, 64],
            help="sprite frame side (the paper's: 64)",
        )
        # The sprite sizes default to run_slowvae_experiment's own, kept in one place.
        sprite = inspect.signature(experiments.run_slowvae_experiment).parameters
        for option, name, what in (
            ("--n-frames", "n_frames", "sprite frames"),
            ("--n-groups", "n_groups", "sprite recordings"),
        ):
            default = sprite[name].default
            parser.add_argument(
                option, type=int, default=default, help=f"{what} (default {default})"
            )
        parser.add_argument(
            "--baseline-beta",
            type=float,
            default=None,
            help="beta of the beta-VAE baseline (default 8 on sprites, 1 on vectors)",
        )
        parser.add_argument("--rate-prior", type=float, default=None, help="SlowVAE's Laplace rate")
        parser.add_argument(
            "--gamma", type=float, default=None, help="SlowVAE's transition-prior weight"
        )
    parser.add_argument("--n-sources", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument(
        "--max-iter", type=int, default=None, help="override the estimator's step budget"
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="override the estimator's batch size"
    )
    parser.add_argument(
        "--learning-rate", type=float, default=None, help="override the estimator's learning rate"
    )
    parser.add_argument("--preset", default=None, choices=["fast", "paper"])
    parser.add_argument(
        "--out",
        default="results",
        help=f"output folder for {name}_experiment.csv, .json and .png (default: results)",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="a progress bar over the jobs (plain lines without tqdm)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        type=int,
        default=0,
        help="1: progress over the jobs (as --progress); 2: also each fit's own progress bar",
    )


def _run_experiment(args):
    """Run the experiment named in ``args``, print its tables and write its files."""
    progress = args.progress or args.verbose >= 1
    params = {"verbose": 2} if args.verbose >= 2 else {}
    for key in ("max_iter", "preset", "batch_size", "learning_rate", "rate_prior", "gamma"):
        if getattr(args, key, None) is not None:
            params[key] = getattr(args, key)
    common = dict(
        n_seeds=args.seeds,
        n_sources=args.n_sources,
        device=args.device,
        n_jobs=args.n_jobs,
        estimator_params=params,
        progress=progress,
    )
    if args.name == "tcl":
        rows = experiments.run_tcl_experiment(
            args.layers, args.segments, segment_length=args.segment_length, **common
        )
        written = experiments.tcl.report(rows, args.out)
    elif args.name == "pcl":
        rows = experiments.run_pcl_experiment(args.layers, n_samples=args.n_samples, **common)
        written = experiments.pcl.report(rows, args.out)
    elif args.name == "ivae":
        if args.quick:
            params.setdefault("max_iter", 500)
            common["n_seeds"] = 1
        rows = experiments.run_ivae_experiment(
            args.layers or ([1, 2] if args.quick else [1, 2, 3, 4]),
            n_segments=args.n_segments or (16 if args.quick else 64),
            segment_length=args.segment_length or (128 if args.quick else 512),
            snr_db=args.snr_db,
            baselines=not args.no_baselines,
            # --max-iter (and --quick's) also caps TCL, so a smoke test stays short.
            baseline_params={k: v for k, v in params.items() if k == "max_iter"},
            **common,
        )
        written = experiments.ivae.report(rows, args.out)
    else:
        rows, traversals = experiments.run_slowvae_experiment(
            args.part,
            args.layers,
            args.transitions,
            n_samples=args.n_samples,
            n_frames=args.n_frames,
            image_size=args.image_size,
            n_groups=args.n_groups,
            baseline_beta=args.baseline_beta,
            return_traversals=True,
            **common,
        )
        written = experiments.slowvae.report(rows, args.out, traversals)
    print("\nwrote " + ", ".join(map(str, written)))
    return 0


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
        run_demo(
            args.out,
            n_sources=args.n_sources,
            seed=args.seed,
            quick=args.quick,
            verbose=args.verbose,
            progress=args.progress or args.verbose > 0,
        )
        return 0
    if args.command == "experiment":
        return _run_experiment(args)
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
        Names of the benchmarks to run (``fastica`` for ``bench_fastica.py``); None: all
        but the GPU benchmark, which runs only when named.
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
    bench_dir = (
        Path(__file__).resolve().parents[1] / "benchmarks" if bench_dir is None else Path(bench_dir)
    )
    scripts = {p.stem[len("bench_") :]: p for p in sorted(bench_dir.glob("bench_*.py"))}
    if not scripts:
        print("no benchmarks found: run from a source checkout of nlica.", file=sys.stderr)
        return 2
    unknown = sorted(set(only or ()) - set(scripts))
    if unknown:
        print(
            f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(scripts)}",
            file=sys.stderr,
        )
        return 2
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in only or [n for n in scripts if n not in _ON_REQUEST]:
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
            write_csv(rows, csv_path)
            print(f"wrote {json_path}, {csv_path}")
    return 0


def _bench_rows(result):
    """Flatten a benchmark's return value (rows, or rows by section) into rows."""
    if isinstance(result, dict):
        return [{"section": name, **row} for name, rows in result.items() for row in rows]
    return list(result or [])
