"""The one table of fast estimator instances shared by the tests.

A few optimiser steps on a few hundred samples: well under a second per fit, enough for
the contract, bad-input and scikit-learn checks, not for recovery (the per-estimator
test modules fit longer for that).
"""

import nlica

FAST = {
    "FastICA-numpy": (nlica.FastICA, {"backend": "numpy", "max_iter": 50}),
    "FastICA-torch": (nlica.FastICA, {"backend": "torch", "max_iter": 50}),
    "TCL": (nlica.TCL, {"max_iter": 5, "batch_size": 32, "segment_length": 20, "ica_max_iter": 50}),
    "PCL": (nlica.PCL, {"max_iter": 5, "batch_size": 32, "n_init": 1}),
    "SlowVAE": (nlica.SlowVAE, {"max_iter": 5, "batch_size": 32, "hidden_layer_sizes": (8,)}),
    # segment_length: fit(X) alone then cuts segments, as the generic tests call it.
    "IVAE": (nlica.IVAE, {"max_iter": 5, "batch_size": 32, "segment_length": 2, "n_layers": 2}),
}
NAMES = tuple(FAST)
NEURAL = ("TCL", "PCL", "SlowVAE", "IVAE")


def fast(name, **params):
    """Return a fresh fast instance of ``name`` (a key of FAST), seeded, on the CPU."""
    cls, base = FAST[name]
    return cls(**{"random_state": 0, "device": "cpu", **base, **params})


def checked_instances():
    """The instances run through scikit-learn's estimator checks (every estimator)."""
    return [
        fast("FastICA-numpy", max_iter=200),
        fast("FastICA-torch", max_iter=200),
        # "auto" segments: the checks fit on as few as 10 samples.
        fast("TCL", n_layers=2, segment_length="auto", batch_size=None),
        fast("PCL"),
        fast("PCL", n_layers=1, lag=2),
        fast("SlowVAE", batch_size=16),
        fast("SlowVAE", batch_size=16, posterior="diagonal", symmetric=False),
        fast("IVAE", batch_size=16),
        fast("IVAE", batch_size=16, prior="laplace", mixing="linear"),
    ]
