"""Benchmark SlowVAE's robustness: three families of transition statistics x seeds.

Each family draws ``--n-sources`` independent sources of ``--n-samples`` frames, mixes them
by an invertible leaky-ReLU MLP of ``--layers`` layers (slope 0.2, unit-norm columns,
condition number of each layer below ``--max-cond``) and fits ``SlowVAE`` at its
defaults (plus ``--params``). The families:

* ``laplace``: stationary AR(1) walks ``s_t = a s_{t-1} + e_t`` with Laplace steps of
  variance ``1 - a**2`` (a Gaussian-like marginal of unit variance), ``a = --decay``;
* ``reflect``: bounded walks in the box [0, 1] with Laplace steps of scale ``--box-step``,
  reflected at the edges (like object positions in a frame; a uniform marginal);
* ``gennorm``: AR(1) walks whose steps are generalised-normal with shape 0.5 (heavier
  tailed than Laplace, as measured on natural object motion).

The score is the Spearman MCC of ``transform(X)`` (posterior means) against the sources
with optimal matching, on the training frames; "kept model" is ``selected_model_``
(``mixing="auto"`` keeps the network only if it beats the warm-started linear model on
held-out rows by one standard error plus 0.15 nats per latent;
``--params '{"mixing": "linear"}'`` fits the linear model alone). The table gives each
fit, then the worst and the mean per family.

Examples
--------
``python benchmarks/bench_slowvae.py``  (the 9 fits: 3 families x seeds 0 1 2)
``python benchmarks/bench_slowvae.py --families reflect --box-step 0.015 --json r.json``
``python benchmarks/bench_slowvae.py --quick``  (smoke test: 200 steps, 4096 frames)
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import environment_info, format_header, format_table, write_json  # noqa: E402

from nlica import SlowVAE  # noqa: E402
from nlica.metrics import mean_corr_coef  # noqa: E402

FAMILIES = ("laplace", "reflect", "gennorm")


def _walk(decay, steps, rng):
    s = np.empty_like(steps)
    s[0] = rng.standard_normal(steps.shape[1])
    for t in range(1, steps.shape[0]):
        s[t] = decay * s[t - 1] + steps[t]
    return s


def draw_sources(family, n_sources, n_samples, rng, *, decay=0.97, box_step=0.04):
    """Standardised sources of one family (see the module docstring)."""
    shape = (n_samples, n_sources)
    if family == "laplace":
        # A Laplace variable of scale b has variance 2 b**2.
        s = _walk(decay, rng.laplace(scale=np.sqrt((1 - decay**2) / 2), size=shape), rng)
    elif family == "gennorm":
        steps = stats.gennorm(0.5).rvs(size=shape, random_state=rng)
        s = _walk(decay, steps * np.sqrt(1 - decay**2) / steps.std(), rng)
    elif family == "reflect":
        steps = rng.laplace(scale=box_step, size=shape)
        s = np.empty(shape)
        s[0] = rng.uniform(size=n_sources)
        for t in range(1, n_samples):
            x = np.abs(s[t - 1] + steps[t])  # reflected at 0
            s[t] = np.clip(1.0 - np.abs(1.0 - x), 0.0, 1.0)  # and at 1
    else:
        raise ValueError(f"family must be one of {FAMILIES}; got {family!r}.")
    return (s - s.mean(0)) / s.std(0)


def mlp_mixing(n, n_layers, rng, *, max_cond=4.0, slope=0.2):
    """Return an invertible leaky-ReLU MLP ``S -> X`` of ``n_layers`` square layers."""
    weights = []
    for _ in range(n_layers):
        while True:
            W = rng.standard_normal((n, n))
            W /= np.linalg.norm(W, axis=0)
            if np.linalg.cond(W) < max_cond:
                break
        weights.append(W)

    def mix(S):
        H = S
        for i, W in enumerate(weights):
            H = H @ W.T
            if i < n_layers - 1:
                H = np.where(H > 0, H, slope * H)
        return H

    return mix


def run(args):
    params = json.loads(args.params)
    if args.quick:
        params.setdefault("max_iter", 200)
    rows = []
    for family in args.families:
        for seed in args.seeds:
            rng = np.random.default_rng([seed, FAMILIES.index(family)])
            S = draw_sources(
                family,
                args.n_sources,
                args.n_samples,
                rng,
                decay=args.decay,
                box_step=args.box_step,
            )
            X = mlp_mixing(args.n_sources, args.layers, rng, max_cond=args.max_cond)(S)
            est = SlowVAE(random_state=seed, device=args.device, **params)
            t0 = time.perf_counter()
            est.fit(X)
            seconds = time.perf_counter() - t0
            mcc = mean_corr_coef(S, est.transform(X), method="spearman")
            rows.append(
                {
                    "family": family,
                    "seed": seed,
                    "mcc": float(mcc),
                    "seconds": seconds,
                    "steps": int(est.n_iter_),
                    "rate": float(est.module_.log_rate.exp().mean()),
                    "model": est.selected_model_,
                }
            )
            print(
                f"{family} seed={seed}: MCC {mcc:.3f} ({est.selected_model_} model) in "
                f"{seconds:.0f}s",
                file=sys.stderr,
            )
    return rows


def main(argv=None):
    """Run the benchmark from the command line.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments.

    Returns
    -------
    rows : list of dict
        One row per fit.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-sources", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=2**15)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--max-cond", type=float, default=4.0)
    parser.add_argument("--decay", type=float, default=0.97, help="AR(1) decay (laplace, gennorm)")
    parser.add_argument("--box-step", type=float, default=0.04, help="Laplace step scale (reflect)")
    parser.add_argument("--params", default="{}", help="extra SlowVAE parameters, as JSON")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="200 steps, 4096 frames")
    parser.add_argument("--json", default=None, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples = min(args.n_samples, 4096)
    info = environment_info()
    rows = run(args)
    summary = []
    for family in args.families:
        mccs = [r["mcc"] for r in rows if r["family"] == family]
        summary.append({"family": family, "worst": min(mccs), "mean": float(np.mean(mccs))})
    title = (
        f"SlowVAE robustness ({args.n_sources} sources, {args.layers}-layer MLP mixing, "
        f"{args.n_samples} frames; Spearman MCC of posterior means vs sources)"
    )
    print(format_header(title, info))
    print(
        format_table(
            rows,
            [
                ("family", "family", ""),
                ("seed", "seed", "d"),
                ("mcc", "MCC", ".3f"),
                ("seconds", "seconds", ".0f"),
                ("steps", "steps", "d"),
                ("rate", "rate", ".1f"),
                ("model", "kept model", ""),
            ],
        )
    )
    print()
    print(
        format_table(
            summary, [("family", "family", ""), ("worst", "worst", ".3f"), ("mean", "mean", ".3f")]
        )
    )
    if args.json:
        write_json(args.json, {"environment": info, "params": vars(args), "rows": rows})
        print(f"\nwrote {args.json}")
    return rows


if __name__ == "__main__":
    main()
