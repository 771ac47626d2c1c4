"""
Linear ICA fails on nonlinear mixtures; nonlinear ICA does not
==============================================================

The same kind of sources is mixed by invertible MLPs of increasing depth (depth 1 is a
linear mixture). FastICA recovers the sources only at depth 1. TCL (on nonstationary
sources) and PCL (on temporally dependent sources) recover them at every depth shown.
A small-scale version of the papers' depth experiments; see
``python -m nlica experiment tcl|pcl`` for the full sweeps.
"""

import os

import matplotlib.pyplot as plt

from nlica.experiments import run_pcl_experiment, run_tcl_experiment, summarize

quick = bool(os.environ.get("NLICA_QUICK"))
layers = [1, 2] if quick else [1, 2, 3]
steps = {"max_iter": 200} if quick else {}

tcl_rows = run_tcl_experiment(layers, [32], n_seeds=1, n_sources=3,
                              segment_length=128 if quick else 256, estimator_params=steps)
pcl_rows = run_pcl_experiment(layers, n_seeds=1, n_sources=3,
                              n_samples=2**12 if quick else 2**14, estimator_params=steps)

for title, rows, rule in (("TCL data", tcl_rows, "Pearson vs |s|"),
                          ("PCL data", pcl_rows, "Pearson vs s")):
    print(f"{title} (MCC rule: {rule})")
    for r in summarize(rows, ["n_layers"]):
        print(f"  {r['method']:<8} depth {r['n_layers']}: MCC {r['mcc_mean']:.3f} "
              f"({r['seconds']:.1f}s)")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for ax, rows, title, rule in ((axes[0], tcl_rows, "nonstationary sources", "Pearson vs |s|"),
                              (axes[1], pcl_rows, "AR(1) sources", "Pearson vs s")):
    for method in sorted({r["method"] for r in rows}):
        pts = sorted((r["n_layers"], r["mcc"]) for r in rows if r["method"] == method)
        ax.plot(*zip(*pts), marker="o", label=method)
    ax.set_title(title)
    ax.set_xlabel("mixing depth (layers)")
    ax.set_ylabel(f"MCC ({rule})")
    ax.set_ylim(0, 1.05)
    ax.legend()
fig.tight_layout()
