"""Benchmark the nonlinear ICA estimators (TCL, PCL, SlowVAE, IVAE) by mixing depth.

For each estimator, number of sources and depth, the script draws the estimator's own kind
of data (TCL: nonstationary Laplace sources, 64 segments x 512, 256 segments from 10
sources on as in the paper; PCL: AR(1) Laplace sources, 2**15 samples, 2**16 from 10
sources on; SlowVAE: sparse Laplace transitions, 2**15 samples; IVAE: TCL's data, fitted
with its segments), mixes them with an
invertible MLP of that depth, fits the estimator with its default settings, and reports
the MCC (with its rule), the model kept by ``mixing="auto"``, fit seconds, optimiser
steps per second and, for the estimators that decode, the held-out reconstruction R²
(``reconstruction_r2_``). FastICA runs on the same data alongside. ``--default-depth`` leaves the
network depth at the estimator's default (only ``n_components`` is set) instead of
matching the mixing. ``--device cuda`` adds GPU rows when CUDA is available.
``--ceiling`` adds, for TCL and PCL, the MCC that the estimator's own network reaches when
it is trained by least squares on the true targets (a supervised regression, the same
steps, scored on every tenth row, which it does not train on): how much of a miss the
network's capacity explains, as against the estimator's contrastive task.

Examples
--------
``python benchmarks/bench_nonlinear.py --quick``
``python benchmarks/bench_nonlinear.py --layers 1 2 3 --seeds 0 1 2 --json results/nl.json``
``python benchmarks/bench_nonlinear.py --methods TCL PCL --n-sources 10 20 --layers 1 3 \
--default-depth``
``python benchmarks/bench_nonlinear.py --methods TCL PCL --layers 5 --seeds 0 1 2 3 4 \
--default-depth --ceiling``
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    call_catching_convergence,
    environment_info,
    format_header,
    format_table,
    write_json,
)

import nlica  # noqa: E402
from nlica import datasets  # noqa: E402
from nlica.metrics import mean_corr_coef  # noqa: E402

# Per method: data maker, fit keywords from the bundle, target, MCC rule.
SPECS = {
    "TCL": dict(
        data=lambda L, seed, n_sources: datasets.make_tcl_dataset(
            n_sources=n_sources,
            n_layers=L,
            n_segments=64 if n_sources <= 5 else 256,
            segment_length=512,
            random_state=seed,
        ),
        fit_kw=lambda d: {"segments": d.segments},
        target=lambda d: np.abs(d.S),
        method="pearson",
        rule="pearson vs |s| (linear model: |estimate|)",
    ),
    "PCL": dict(
        data=lambda L, seed, n_sources: datasets.make_pcl_dataset(
            n_sources=n_sources,
            n_layers=L,
            n_samples=2**15 if n_sources <= 5 else 2**16,
            random_state=seed,
        ),
        fit_kw=lambda d: {},
        target=lambda d: d.S,
        method="pearson",
        rule="pearson vs s",
    ),
    "SlowVAE": dict(
        data=lambda L, seed, n_sources: datasets.make_slowvae_dataset(
            n_sources=n_sources, n_layers=L, n_samples=2**15, random_state=seed
        ),
        fit_kw=lambda d: {"groups": d.groups},
        target=lambda d: d.S,
        method="spearman",
        rule="spearman vs s",
    ),
    # iVAE's prior is the segment-wise variance of each source: TCL's data, scored
    # against s itself (the posterior mean keeps the sign).
    "IVAE": dict(
        data=lambda L, seed, n_sources: datasets.make_tcl_dataset(
            n_sources=n_sources,
            n_layers=L,
            n_segments=64,
            segment_length=512,
            random_state=seed,
        ),
        fit_kw=lambda d: {"segments": d.segments},
        target=lambda d: d.S,
        method="pearson",
        rule="pearson vs s",
    ),
}


def _estimator(name, L, seed, device, quick, n_sources, default_depth):
    """Build the estimator with default settings (fewer steps with ``quick``)."""
    cls = getattr(nlica, name)
    params = {"random_state": seed, "device": device, "n_components": n_sources}
    if not default_depth and "n_layers" in cls().get_params():
        params["n_layers"] = L
    if quick:
        params["max_iter"] = 200
    return cls(**params)


# The supervised ceiling: it is scored on every _CEILING_HELD_OUT-th row (interleaved, so
# the held-out rows come from the same segments as the training rows: TCL's last rows
# are segments of their own, whose source scales the regression never saw); batch and
# learning rate of its Adam steps (cosine decay). The rate matters: at 5 sources through 5
# layers (seed 2, 16 000 steps) 1e-3 with batches of 512 gave 0.874 (TCL) where 3e-2 with
# 1024 gave 0.945 (PCL: 0.976), so a slow regression understates the network.
_CEILING_HELD_OUT = 10
_CEILING_BATCH = 1024
_CEILING_LR = 3e-2


def supervised_ceiling(X, target, hidden_layer_sizes, n_steps, method="pearson", seed=0):
    """MCC of a maxout network trained by least squares to predict ``target`` from ``X``.

    The network has the given hidden layers (an estimator's own layout) and a linear
    output; it sees PCA-whitened ``X`` as the estimators do, is trained by the
    estimators' own loop (Adam, cosine decay) and is scored on every tenth row, which it
    never trains on. An estimator far below it misses through its contrastive task, one
    at it through the network's capacity (or the data's). It is one run of one
    optimiser: a reference, not a bound.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Observations.
    target : ndarray of shape (n_samples, n_sources)
        What the estimator is scored against (``s`` or ``|s|``).
    hidden_layer_sizes : sequence of int
        Widths of the maxout hidden layers.
    n_steps : int
        Adam steps.
    method : {"pearson", "spearman"}, default="pearson"
        MCC rule.
    seed : int, default=0
        Seed of the weights and batches.

    Returns
    -------
    mcc : float
        Held-out MCC of the prediction against ``target``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> S = rng.laplace(size=(2000, 2))
    >>> X = np.tanh(S) @ rng.standard_normal((2, 2))
    >>> supervised_ceiling(X, S, [16], 300) > 0.8
    True
    """
    import torch

    from nlica._training import TrainConfig, train
    from nlica.nn import MaxoutMLP

    held_out = np.arange(X.shape[0]) % _CEILING_HELD_OUT == _CEILING_HELD_OUT - 1
    rows = torch.as_tensor(np.flatnonzero(~held_out))
    Xc = X - X[~held_out].mean(0)
    _, sv, vt = np.linalg.svd(Xc[~held_out], full_matrices=False)
    Z = torch.as_tensor(Xc @ vt.T / sv * np.sqrt(rows.numel()), dtype=torch.float32)
    T = (target - target[~held_out].mean(0)) / target[~held_out].std(0)
    T = torch.as_tensor(T, dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = MaxoutMLP(Z.shape[1], list(hidden_layer_sizes), T.shape[1])

    def batch_fn():
        return rows[torch.randint(rows.numel(), (_CEILING_BATCH,), generator=gen)]

    def loss_fn(module, idx):
        return ((module(Z[idx]) - T[idx]) ** 2).mean(), {}

    train(net, loss_fn, batch_fn, TrainConfig(int(n_steps), _CEILING_LR), name="ceiling")
    with torch.no_grad():
        pred = net(Z[held_out]).numpy().astype(np.float64)
    return mean_corr_coef(target[held_out], pred, method=method)


def run(
    methods,
    layers,
    seeds,
    devices,
    n_sources=(5,),
    quick=False,
    default_depth=False,
    ceiling=False,
):
    """Fit every (method, depth, seed, device) and return one row each.

    Parameters
    ----------
    methods : list of str
        Names among TCL, PCL, SlowVAE, IVAE (those this install lacks are skipped).
    layers : list of int
        Mixing depths.
    seeds : list of int
        Seeds of the data and the estimators.
    devices : list of str
        Devices of the neural estimators.
    n_sources : sequence of int
        Numbers of sources.
    quick : bool
        200 optimiser steps only (a smoke test).
    default_depth : bool
        Leave the network depth at the estimator's default.
    ceiling : bool
        Add the supervised ceiling of each TCL and PCL fit (see ``supervised_ceiling``).

    Returns
    -------
    rows : list of dict
        The results.
    """
    rows = []
    for name in methods:
        try:
            getattr(nlica, name)
        except (AttributeError, ImportError):
            print(f"skipping {name}: not in this install", file=sys.stderr)
            continue
        spec = SPECS[name]
        for n in n_sources:
            for L in layers:
                for seed in seeds:
                    rows.extend(
                        _case(name, spec, n, L, seed, devices, quick, default_depth, ceiling)
                    )
    return rows


def _case(name, spec, n, L, seed, devices, quick, default_depth, ceiling=False):
    """Rows of one data set: the estimator on each device, then FastICA."""
    rows = []
    data = spec["data"](L, seed, n)
    target = spec["target"](data)
    base = {"sources": n, "layers": L, "seed": seed, "rule": spec["rule"]}
    for device in devices:
        est = _estimator(name, L, seed, device, quick, n, default_depth)
        t0 = time.perf_counter()
        _, _, error = _fit(est, data.X, spec["fit_kw"](data))
        seconds = time.perf_counter() - t0
        row = {"method": name, **base, "device": device, "seconds": seconds}
        if error is None:
            S_est = est.transform(data.X)
            if name == "TCL" and est.selected_model_ == "linear":
                S_est = np.abs(S_est)  # the linear model's sources are signed; target is |s|
            row["mcc"] = mean_corr_coef(target, S_est, method=spec["method"])
            row["model"] = est.selected_model_
            row["steps"] = est.n_iter_
            row["steps_per_s"] = est.n_iter_ / seconds
            # Held-out R² of inverse_transform(transform(X)), for the estimators that decode.
            row["recon_r2"] = getattr(est, "reconstruction_r2_", None)
            if ceiling and name in ("TCL", "PCL") and est.selected_model_ == "nonlinear":
                row["ceiling"] = supervised_ceiling(
                    data.X,
                    target,
                    est._hidden_sizes(est.n_components_),
                    est.n_iter_,
                    spec["method"],
                    seed,
                )
        else:
            row["error"] = error
        rows.append(row)
        print(
            f"{name} n={n} L={L} seed={seed} {device}: "
            f"MCC {row.get('mcc', float('nan')):.3f} in {seconds:.1f}s",
            file=sys.stderr,
        )
    t0 = time.perf_counter()
    S_lin, _, _ = call_catching_convergence(
        nlica.FastICA(n_components=n, random_state=seed).fit_transform, data.X
    )
    seconds = time.perf_counter() - t0
    if name == "TCL":
        S_lin = np.abs(S_lin)
    rows.append(
        {
            "method": f"FastICA ({name} data)",
            **base,
            "device": "cpu",
            "seconds": seconds,
            "mcc": mean_corr_coef(target, S_lin, method=spec["method"]),
        }
    )
    return rows


def _fit(est, X, kwargs):
    try:
        est_out, converged, _ = call_catching_convergence(est.fit, X, **kwargs)
        return est_out, converged, None
    except Exception as exc:  # a failed fit is a row, not the end of the benchmark
        return None, None, f"{type(exc).__name__}: {exc}"


def main(argv=None):
    """Run the benchmark from the command line.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments.

    Returns
    -------
    rows : list of dict
        The results.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["TCL", "PCL", "SlowVAE", "IVAE"])
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n-sources", type=int, nargs="+", default=[5])
    parser.add_argument(
        "--default-depth",
        action="store_true",
        help="leave the network depth at the estimator's default",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        choices=["cpu", "cuda", "auto", "both"],
        help="'both' runs CPU and CUDA rows side by side",
    )
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="add the MCC of the estimator's network trained on the true targets (TCL, PCL)",
    )
    parser.add_argument("--quick", action="store_true", help="200 steps only (smoke test)")
    parser.add_argument("--json", default=None, help="write the rows as JSON here")
    args = parser.parse_args(argv)

    import torch

    cuda = torch.cuda.is_available()
    devices = {
        "cpu": ["cpu"],
        "cuda": ["cuda"] if cuda else [],
        "auto": ["cuda" if cuda else "cpu"],
        "both": ["cpu", "cuda"] if cuda else ["cpu"],
    }[args.device]
    if not devices:
        print("CUDA requested but not available; nothing to run.", file=sys.stderr)
        return []
    info = environment_info(gpu="cuda" in devices)
    rows = run(
        args.methods,
        args.layers,
        args.seeds,
        devices,
        args.n_sources,
        args.quick,
        args.default_depth,
        args.ceiling,
    )
    print(format_header("Nonlinear ICA benchmark (default settings; MCC rule per row)", info))
    columns = [
        ("method", "method", ""),
        ("sources", "sources", "d"),
        ("layers", "layers", "d"),
        ("seed", "seed", "d"),
        ("device", "device", ""),
        ("mcc", "MCC", ".3f"),
        ("ceiling", "ceiling", ".3f"),
        ("model", "model", ""),
        ("rule", "rule", ""),
        ("seconds", "seconds", ".1f"),
        ("steps", "steps", "d"),
        ("steps_per_s", "steps/s", ".0f"),
        ("recon_r2", "recon R2", ".3f"),
    ]
    print(format_table(rows, columns))
    for r in rows:
        if "error" in r:
            print(f"  {r['method']} L={r['layers']} seed={r['seed']}: {r['error']}")
    if args.json:
        write_json(args.json, {"environment": info, "rows": rows})
        print(f"\nwrote {args.json}")
    return rows


if __name__ == "__main__":
    main()
