"""
TCL in a scikit-learn pipeline, with metadata routing and model selection
=========================================================================

Four recordings share the same sixteen experimental conditions; in each condition the
sources have their own variances (the auxiliary variable of time-contrastive learning).
``segments`` (the condition of each sample) and ``groups`` (the recording) travel through a
:class:`~sklearn.pipeline.Pipeline` by scikit-learn's metadata routing, and
:class:`~sklearn.model_selection.GridSearchCV` chooses the network depth by the held-out
accuracy of TCL's condition classifier (``TCL.score``), leaving whole recordings out.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nlica import TCL
from nlica.datasets import make_mlp_mixing
from nlica.metrics import mean_corr_coef

sklearn.set_config(enable_metadata_routing=True)
quick = bool(os.environ.get("NLICA_QUICK"))

rng = np.random.default_rng(0)
n_sources, n_conditions, seg_len, n_recordings = 4, 16, 128 if quick else 256, 4
scales = rng.uniform(0.1, 1.0, size=(n_conditions, n_sources))
S, segments, groups = [], [], []
for r in range(n_recordings):
    order = rng.permutation(n_conditions)  # conditions come in a new order each recording
    for c in order:
        S.append(scales[c] * rng.laplace(size=(seg_len, n_sources)))
        segments += [c] * seg_len
        groups += [r] * seg_len
S, segments, groups = np.concatenate(S), np.array(segments), np.array(groups)
X = make_mlp_mixing(n_sources, 2, random_state=0)(S)

tcl = TCL(random_state=0, max_iter=300 if quick else 3000)
tcl.set_fit_request(segments=True, groups=True)
# Pipeline.score always forwards sample_weight under routing, so the scorer requests it too.
tcl.set_score_request(segments=True, groups=True, sample_weight=True)
pipe = make_pipeline(StandardScaler(), tcl)

search = GridSearchCV(
    pipe, {"tcl__n_layers": [1, 2]}, cv=GroupKFold(n_splits=2), error_score="raise"
)
search.fit(X, segments=segments, groups=groups)
for depth, acc in zip(
    search.cv_results_["param_tcl__n_layers"], search.cv_results_["mean_test_score"]
):
    print(f"n_layers={depth}: held-out condition accuracy {acc:.3f}")
print("chosen:", search.best_params_)

fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(
    [str(d) for d in search.cv_results_["param_tcl__n_layers"]],
    search.cv_results_["mean_test_score"],
)
ax.axhline(1 / n_conditions, color="k", ls="--", lw=0.8, label="chance")
ax.set_xlabel("n_layers")
ax.set_ylabel("held-out condition accuracy")
ax.legend()
fig.tight_layout()
# Saved too (``NLICA_EXAMPLES_OUT``, by default ``examples_output/`` in the current directory).
out = Path(os.environ.get("NLICA_EXAMPLES_OUT", "examples_output"))
out.mkdir(parents=True, exist_ok=True)
fig.savefig(out / "pipeline_depth_selection.png", dpi=100)
print(f"wrote {(out / 'pipeline_depth_selection.png').resolve()}")

# %%
# The refitted pipeline's sources, scored against ``|s|`` (TCL's network recovers
# ``|s_i|``; a linear model, kept by ``mixing="auto"`` on linear data, recovers ``s_i``).
S_est = search.best_estimator_.transform(X)
if search.best_estimator_[-1].selected_model_ == "linear":
    S_est = np.abs(S_est)
print(f"MCC (Pearson vs |s|): {mean_corr_coef(np.abs(S), S_est):.3f}")
sklearn.set_config(enable_metadata_routing=False)
