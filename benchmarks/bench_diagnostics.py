"""Calibrate :func:`nlica.diagnostics.check_assumptions`: power and false "holds" rates.

For each method, data are drawn where its assumption holds as in the papers' simulations
(5 sources, 2**14 samples, 2-layer leaky-ReLU MLP mixing; also a linear mixing) and where
it is violated (FastICA: two Gaussian sources, Gaussian random walks, or any sources
mixed nonlinearly; TCL: stationary
sources cut into the same segments; PCL: temporally independent sources; SlowVAE:
Gaussian transitions, or independent samples). Over ``--seeds`` draws the table reports
how often the test says "holds" at alpha = 0.05: the power (target >= 0.9) where the
assumption holds and the false "holds" rate (target <= 0.1) where it does not.

Examples
--------
``python benchmarks/bench_diagnostics.py --seeds 20 --json results/diagnostics.json``
``python benchmarks/bench_diagnostics.py --seeds 3 --quick``
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import environment_info, format_header, format_table, write_json  # noqa: E402

from nlica import PCL, FastICA, datasets  # noqa: E402
from nlica.diagnostics import check_assumptions, component_stability  # noqa: E402

N_SOURCES = 5
N_SAMPLES = 2**14
SEGMENT_LENGTH = 256  # 64 segments of 256 samples in 2**14
ALPHA = 0.05
# SlowVAE's transitions: Laplace of rate 6, decay keeping unit variance.
_DECAY = np.sqrt(1.0 - 2.0 / 36.0)


def _standardise(S):
    return (S - S.mean(axis=0)) / S.std(axis=0)


def _gaussian_walk(n, k, rng, decay=_DECAY):
    """Draw a stationary Gaussian AR(1) with SlowVAE's decay: slow, Gaussian transitions."""
    e = rng.normal(scale=np.sqrt(1.0 - decay**2), size=(n, k))
    e[0] = rng.normal(size=k)
    return _standardise(lfilter([1.0], [1.0, -decay], e, axis=0))


def _laplace_iid(n, k, rng):
    return _standardise(rng.laplace(size=(n, k)))


def _two_gaussian(n, k, rng):
    return _standardise(np.column_stack([rng.laplace(size=(n, k - 2)), rng.normal(size=(n, 2))]))


def _segmented(rng, seed):
    n_seg = N_SAMPLES // SEGMENT_LENGTH
    return datasets.make_nonstationary_sources(N_SOURCES, n_seg, SEGMENT_LENGTH, random_state=seed)[
        0
    ]


def _ar(rng, seed):
    return datasets.make_ar_sources(N_SOURCES, N_SAMPLES, random_state=seed)


def _laplace_steps(rng, seed):
    return datasets.make_laplace_transition_sources(N_SOURCES, N_SAMPLES, random_state=seed)[0]


def _iid(rng, seed):
    return _laplace_iid(N_SAMPLES, N_SOURCES, rng)


def _iid_nonstationary(rng, seed):
    # Nonstationary scales, but shuffled in time: no temporal dependence left.
    return rng.permutation(_segmented(rng, seed))


def _two_gauss(rng, seed):
    return _two_gaussian(N_SAMPLES, N_SOURCES, rng)


def _gauss_steps(rng, seed):
    return _gaussian_walk(N_SAMPLES, N_SOURCES, rng)


# name -> (method, assumption holds?, mixing layers, source maker(rng, seed))
SCENARIOS = {
    "fastica: Laplace iid": ("fastica", True, 1, _iid),
    # Linear ICA cannot identify sources mixed nonlinearly, whatever their distribution.
    "fastica: Laplace iid, MLP": ("fastica", False, 2, _iid),
    "fastica: 2 Gaussian": ("fastica", False, 1, _two_gauss),
    "fastica: Gaussian walks": ("fastica", False, 1, _gauss_steps),
    "fastica: 2 Gaussian, MLP": ("fastica", False, 2, _two_gauss),
    "tcl: nonstationary": ("tcl", True, 1, _segmented),
    "tcl: nonstationary, MLP": ("tcl", True, 2, _segmented),
    "tcl: stationary AR, MLP": ("tcl", False, 2, _ar),
    "tcl: stationary slow, MLP": ("tcl", False, 2, _laplace_steps),
    "tcl: iid, MLP": ("tcl", False, 2, _iid),
    "pcl: AR(1) Laplace": ("pcl", True, 1, _ar),
    "pcl: AR(1) Laplace, MLP": ("pcl", True, 2, _ar),
    "pcl: iid, MLP": ("pcl", False, 2, _iid),
    "pcl: iid nonstationary, MLP": ("pcl", False, 2, _iid_nonstationary),
    "slowvae: Laplace transitions": ("slowvae", True, 1, _laplace_steps),
    "slowvae: Laplace transitions, MLP": ("slowvae", True, 2, _laplace_steps),
    "slowvae: Gaussian transitions, MLP": ("slowvae", False, 2, _gauss_steps),
    "slowvae: Gaussian transitions": ("slowvae", False, 1, _gauss_steps),
    "slowvae: iid, MLP": ("slowvae", False, 2, _iid),
}


def run_scenario(name, seed, n_permutations):
    """Draw one dataset of scenario ``name`` and return the test's verdict and p-value."""
    method, _, layers, make = SCENARIOS[name]
    rng = np.random.default_rng([seed, sum(map(ord, name))])
    S = make(rng, seed)
    mixing = datasets.make_mlp_mixing(N_SOURCES, layers, random_state=seed + 1000)
    X = mixing(S)
    segments = np.repeat(np.arange(N_SAMPLES // SEGMENT_LENGTH), SEGMENT_LENGTH)
    start = time.perf_counter()
    report = check_assumptions(
        X,
        segments=segments if method == "tcl" else None,
        methods=(method,),
        n_permutations=n_permutations,
        alpha=ALPHA,
        random_state=seed,
    )
    seconds = time.perf_counter() - start
    return report.holds[method], report.p_values[method], seconds


def _source_of_each(S, S_est):
    k = S.shape[1]
    return np.abs(np.corrcoef(S, S_est, rowvar=False)[:k, k:]).argmax(axis=0)


def stability_rows(n_seeds, pcl_seeds, n_runs=10):
    """Run the stability cases: FastICA on 3 Laplace + 2 Gaussian sources, PCL on its data."""
    rows = []
    for resample, runs in (("bootstrap", n_runs), ("split", n_runs), ("split", 2 * n_runs)):
        ident, gauss, secs = [], [], []
        for seed in range(n_seeds):
            rng = np.random.default_rng(seed)
            S = _two_gaussian(N_SAMPLES, N_SOURCES, rng)
            X = S @ rng.uniform(-1, 1, size=(N_SOURCES, N_SOURCES)).T
            start = time.perf_counter()
            res = component_stability(
                FastICA(n_components=N_SOURCES, random_state=seed),
                X,
                n_runs=runs,
                resample=resample,
                random_state=seed,
            )
            secs.append(time.perf_counter() - start)
            src = _source_of_each(S, res.estimator.transform(X))
            ident += list(res.stability[src < N_SOURCES - 2])
            gauss += list(res.stability[src >= N_SOURCES - 2])
        rows.append(
            dict(
                case="FastICA, 3 Laplace + 2 Gaussian, linear",
                resample=resample,
                runs=runs,
                seeds=n_seeds,
                identifiable_min=min(ident),
                gaussian_le_07=float(np.mean(np.array(gauss) <= 0.7)),
                identifiable_mean=float(np.mean(ident)),
                gaussian_max=max(gauss),
                gaussian_mean=float(np.mean(gauss)),
                target="ident >= 0.9, Gaussian <= 0.7",
                met="yes" if min(ident) >= 0.9 and max(gauss) <= 0.7 else "NO",
                seconds=float(np.mean(secs)),
            )
        )
    stab, secs = [], []
    for seed in range(pcl_seeds):
        data = datasets.make_pcl_dataset(
            N_SOURCES, n_layers=2, n_samples=N_SAMPLES, random_state=seed
        )
        start = time.perf_counter()
        res = component_stability(
            PCL(device="cpu", random_state=seed), data.X, n_runs=n_runs, random_state=seed
        )
        secs.append(time.perf_counter() - start)
        stab += list(res.stability)
    if pcl_seeds:
        rows.append(
            dict(
                case="PCL, AR(1) Laplace, 2-layer MLP",
                resample="bootstrap",
                runs=n_runs,
                seeds=pcl_seeds,
                identifiable_min=min(stab),
                identifiable_mean=float(np.mean(stab)),
                target="all >= 0.85",
                met="yes" if min(stab) >= 0.85 else "NO",
                seconds=float(np.mean(secs)),
            )
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="datasets per scenario")
    parser.add_argument(
        "--permutations", type=int, default=199, help="null draws of each test (n_permutations)"
    )
    parser.add_argument("--quick", action="store_true", help="49 null draws")
    parser.add_argument("--only", default=None, help="run scenarios whose name has this text")
    parser.add_argument(
        "--stability",
        action="store_true",
        help="run the component_stability cases instead of the calibration",
    )
    parser.add_argument(
        "--pcl-seeds", type=int, default=1, help="PCL datasets for --stability (11 PCL fits each)"
    )
    parser.add_argument("--json", default=None, help="write rows and environment here")
    args = parser.parse_args(argv)
    n_perm = 49 if args.quick else args.permutations
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    info = environment_info()
    title = (
        "nlica.diagnostics.component_stability cases"
        if args.stability
        else "nlica.diagnostics.check_assumptions calibration"
    )
    print(
        format_header(
            title,
            info,
            {
                "seeds": args.seeds,
                "n_permutations": n_perm,
                "alpha": ALPHA,
                "n_samples": N_SAMPLES,
                "n_sources": N_SOURCES,
            },
        )
    )
    if args.stability:
        rows = stability_rows(args.seeds, args.pcl_seeds)
        columns = [
            ("case", "case", ""),
            ("resample", "resample", ""),
            ("runs", "n_runs", "d"),
            ("seeds", "seeds", "d"),
            ("identifiable_min", "ident. min", ".3f"),
            ("identifiable_mean", "ident. mean", ".3f"),
            ("gaussian_max", "Gauss. max", ".3f"),
            ("gaussian_mean", "Gauss. mean", ".3f"),
            ("gaussian_le_07", "Gauss. <= 0.7", ".2f"),
            ("target", "target", ""),
            ("met", "met", ""),
            ("seconds", "s/call", ".1f"),
        ]
        print(format_table(rows, columns))
        if args.json:
            print(f"wrote {write_json(args.json, {'environment': info, 'rows': rows})}")
        return rows
    rows = []
    for name, (method, holds, layers, _) in SCENARIOS.items():
        if args.only and args.only not in name:
            continue
        verdicts, pvals, secs = [], [], []
        for seed in range(args.seeds):
            v, p, s = run_scenario(name, seed, n_perm)
            verdicts.append(v)
            pvals.append(p)
            secs.append(s)
        rate = float(np.mean(verdicts))
        ok = rate >= 0.9 if holds else rate <= 0.1
        rows.append(
            dict(
                scenario=name,
                method=method,
                truth="holds" if holds else "violated",
                mixing="linear" if layers == 1 else f"{layers}-layer MLP",
                seeds=args.seeds,
                holds_rate=rate,
                target=">= 0.9 (power)" if holds else "<= 0.1 (false holds)",
                met="yes" if ok else "NO",
                median_p=float(np.median(pvals)),
                seconds=float(np.mean(secs)),
            )
        )
        print(f"  {name}: holds {rate:.2f} over {args.seeds} seeds", file=sys.stderr, flush=True)
    columns = [
        ("scenario", "scenario", ""),
        ("truth", "assumption", ""),
        ("mixing", "mixing", ""),
        ("seeds", "seeds", "d"),
        ("holds_rate", "'holds' rate", ".2f"),
        ("target", "target", ""),
        ("met", "met", ""),
        ("median_p", "median p", ".3g"),
        ("seconds", "s/check", ".2f"),
    ]
    print(format_table(rows, columns))
    if args.json:
        path = write_json(args.json, {"environment": info, "rows": rows, "settings": vars(args)})
        print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    main()
