"""The shared parameters of the neural estimators: names, constraints and documentation.

``BaseNeuralICA`` merges ``TRAINING_CONSTRAINTS`` (and the ``NETWORK_CONSTRAINTS`` of the
parameters a subclass takes) into every subclass's constraints and
fills the ``<training parameters>`` and ``<fitted attributes>`` marker lines of its
docstring with :func:`fill_docstring`.
"""

import numbers
import textwrap

import torch
from sklearn.utils._param_validation import Interval, StrOptions

from .utils._docstrings import replace_marker

__all__ = [
    "FAST_PRESET",
    "NETWORK_CONSTRAINTS",
    "SCORE_DATA_DOC",
    "SERIES_DATA_DOC",
    "TRAINING_CONSTRAINTS",
    "TRAINING_DEFAULTS",
    "TRAINING_PARAMETERS",
    "fill_docstring",
    "training_parameters_doc",
]

# The training parameters of every neural estimator and their defaults, in the order of
# their __init__ signatures and docstrings (after the estimator's own parameters).
# fmt: off
TRAINING_DEFAULTS = {
    "mixing": "auto", "max_iter": None, "batch_size": None, "learning_rate": None,
    "n_init": None, "n_iter_no_change": None, "tol": 1e-4, "preset": "fast",
    "device": "auto", "verbose": 0, "callbacks": None, "random_state": None,
    "clip_grad_norm": None, "precision": "float32", "compile": False, "memory_budget": 1024,
}
# fmt: on
TRAINING_PARAMETERS = tuple(TRAINING_DEFAULTS)

# The "fast" presets' common ground: 6000 Adam steps of 1024 rows at a rate of 1e-2 with
# cosine decay, no weight decay, one run. Each estimator's preset states only where it
# departs from it (and its network's keys).
FAST_PRESET = {
    "max_iter": 6000,
    "batch_size": 1024,
    "learning_rate": 1e-2,
    "weight_decay": 0.0,
    "n_init": 1,
    "optimizer": "adam",
    "schedule": "cosine",
}

_POSITIVE_INT = [Interval(numbers.Integral, 1, None, closed="left"), None]

# Constraints of the estimators' own parameters that mean the same in every estimator;
# ``BaseNeuralICA`` adds those an estimator's ``__init__`` takes, and an estimator's own
# ``_parameter_constraints`` entry wins (PCL also accepts one width as an int).
NETWORK_CONSTRAINTS = {
    "n_components": _POSITIVE_INT,
    "n_layers": [Interval(numbers.Integral, 1, None, closed="left")],
    "hidden_layer_sizes": ["array-like", None],
    "weight_decay": [Interval(numbers.Real, 0.0, None, closed="left"), None],
}

TRAINING_CONSTRAINTS = {
    "mixing": [StrOptions({"auto", "nonlinear", "linear"})],
    "max_iter": _POSITIVE_INT,
    "batch_size": _POSITIVE_INT,
    "learning_rate": [Interval(numbers.Real, 0.0, None, closed="neither"), None],
    "n_init": _POSITIVE_INT,
    "n_iter_no_change": _POSITIVE_INT,
    "tol": [Interval(numbers.Real, 0.0, None, closed="left")],
    "preset": [StrOptions({"fast", "paper"})],
    "device": [str, torch.device],
    "verbose": ["verbose"],
    "callbacks": [list, None],
    "random_state": ["random_state"],
    "clip_grad_norm": [Interval(numbers.Real, 0.0, None, closed="neither"), None],
    "precision": [StrOptions({"float32", "bf16"})],
    "compile": ["boolean"],
    "memory_budget": [Interval(numbers.Real, 0.0, None, closed="neither"), None],
}

# The shared docstring fragment: (type line, description). ``{name}`` in a description is
# replaced by the presets' values of that parameter; an estimator's ``_parameter_docs``
# replaces the description of a parameter whose meaning it refines.
# fmt: off
_TRAINING_DOCS = {
    "mixing": ('{"auto", "nonlinear", "linear"}, default="auto"', '``"nonlinear"``: the '
               'network as specified. ``"linear"``: its linear special case (no hidden '
               "layers), a linear ICA under the same criterion, for linearly mixed data "
               'such as EEG. ``"auto"`` (data of 1000 rows or more): fit both on 90% of '
               "the rows and keep the nonlinear model only if its ``score`` on the "
               "held-out 10% beats the linear one's by more than one standard error "
               "(``selected_model_``, "
               "``model_scores_``), so that nonlinear ICA contains linear ICA; fewer "
               'rows: ``"nonlinear"``.'),
    "max_iter": ("int, default=None", "Optimiser steps; ``None`` takes the preset's "
                 "({max_iter})."),
    "batch_size": ("int, default=None", "Samples per step; ``None`` takes the preset's "
                   "({batch_size})."),
    "learning_rate": ("float, default=None", "Initial learning rate; ``None`` takes the "
                      "preset's ({learning_rate})."),
    "n_init": ("int, default=None", "Training runs from different seeds; the one with the "
               "lowest final training loss is kept. ``None`` takes the preset's ({n_init})."),
    "n_iter_no_change": ("int, default=None", "Stop when the training loss, read every 100 "
                         "steps, has not improved by ``tol`` for this many reads (a "
                         "``ConvergenceWarning`` if ``max_iter`` comes first). ``None`` "
                         "trains for ``max_iter`` steps."),
    "tol": ("float, default=1e-4", "Improvement of the loss that counts for "
            "``n_iter_no_change``."),
    "preset": ('{"fast", "paper"}, default="fast"', "Settings taken by the parameters "
               "left at ``None`` and the training schedule."),
    "device": ('str or torch.device, default="auto"', '``"auto"`` (CUDA when available), '
               '``"cpu"``, ``"cuda"`` or ``"cuda:N"``.'),
    "verbose": ("int, default=0", "0 silent, 1 a log line every 100 steps, 2 a progress bar "
                "(needs tqdm)."),
    "callbacks": ("list of callable, default=None", "Each called with the record of every "
                  "logging interval (every 100 steps); returning True stops training."),
    "random_state": ("int, RandomState instance or None, default=None", "Seed of the "
                     "weights and of every sampled batch. With an int, fits on the CPU are "
                     "reproducible bit for bit; the global torch RNG is left untouched."),
    "clip_grad_norm": ("float or None, default=None", "Clip the gradient's global norm to "
                       "this value before each step (a guard against rare exploding steps "
                       "with large learning rates); ``None`` does not clip."),
    "precision": ('{"float32", "bf16"}, default="float32"', '``"bf16"`` trains under '
                  "bfloat16 autocast (faster on recent GPUs; the weights stay float32 and "
                  "``transform`` applies them in float64)."),
    "compile": ("bool, default=False", "Compile the training step with "
                ":func:`torch.compile` (pays off on long GPU runs; compiling takes seconds "
                "to a minute). Should compiling fail, a ``RuntimeWarning`` says so and "
                "training goes on uncompiled."),
    "memory_budget": ("float or None, default=1024", "Largest whitened float32 copy of "
                      "``X``, in MiB, held in memory for training. A larger ``X`` (for "
                      "example a :class:`numpy.memmap`) is not copied: each batch is read "
                      "from it, whitened and moved to the device. ``None``: always copy."),
}
# fmt: on

# The ``X`` and ``y`` of a time series a method trains on or scores with its own pairs or
# segments (the ``<series data>`` marker line).
SERIES_DATA_DOC = """\
X : array-like of shape (n_samples, n_features)
    Observations, rows in time order.
y : Ignored
    Not used, present for API consistency.
"""

# The ``X`` and ``y`` of an estimator's ``score`` (the ``<score data>`` marker line).
SCORE_DATA_DOC = """\
X : array-like of shape (n_samples, n_features)
    Data in the feature space seen in ``fit``, to score.
y : Ignored
    Not used, present for API consistency.
"""

# The fitted attributes every neural estimator sets in the template.
_FITTED_DOCS = """\
n_features_in_ : int
    Number of features seen in ``fit``.
feature_names_in_ : ndarray of str
    Feature names, set only when ``X`` has string column names.
device_ : torch.device
    The device used.
mean_ : ndarray of shape (n_features,)
    Mean of ``X``, removed before the whitening (zeros for images).
whitening_ : ndarray of shape (n_components, n_features) or None
    PCA whitening (to ``n_components`` dimensions) applied before the network; None
    when ``X`` is not whitened (images).
explained_variance_ratio_ : ndarray of shape (n_components,) or None
    Share of the variance of ``X`` on each principal direction kept by the whitening
    (its sum is the variance kept when ``n_components`` reduces ``X``); None when ``X``
    is not whitened (images).
selected_model_ : {"linear", "nonlinear"}
    The model kept (see ``mixing``).
model_scores_ : dict or None
    Held-out ``score`` of the ``"linear"`` and ``"nonlinear"`` models when
    ``mixing="auto"`` compared them, else None.
reconstruction_r2_ : float
    R² of ``inverse_transform(transform(X))`` against ``X`` on held-out rows of the
    training data (all rows when ``X`` has fewer than 1000), in the units of ``X``.
"""


def _format_value(value):
    if isinstance(value, numbers.Integral):
        return f"{value:,}".replace(",", " ")
    return f"{value:g}"


def _preset_values(presets, name):
    """``'6 000 for "fast", 770 000 for "paper"'`` (doc text) for a preset key."""
    values = {p.get(name) for p in presets.values()} - {None}
    if len(values) == 1 and len(presets) > 1:
        return _format_value(values.pop())
    return ", ".join(
        f'{_format_value(p[name])} for ``"{k}"``'
        for k, p in presets.items()
        if p.get(name) is not None
    )


def training_parameters_doc(presets, parameter_docs, indent=""):
    """Return the numpydoc entries of the shared training parameters.

    Parameters
    ----------
    presets : dict
        The estimator's preset table (its values fill the ``{name}`` fields).
    parameter_docs : dict
        Descriptions that replace the shared ones, by parameter name.
    indent : str, default=""
        Indentation of the parameter lines.

    Returns
    -------
    doc : str
        One entry per name of ``TRAINING_PARAMETERS``, each ending in a newline.

    Examples
    --------
    >>> doc = training_parameters_doc({"fast": {"max_iter": 10}}, {})
    >>> lines = doc.splitlines()
    >>> print(lines[lines.index("max_iter : int, default=None") + 1].strip())
    Optimiser steps; ``None`` takes the preset's (10 for ``"fast"``).
    """
    values = {
        name: _preset_values(presets, name)
        for name in ("max_iter", "batch_size", "learning_rate", "n_init")
    }
    lines = []
    for name in TRAINING_PARAMETERS:
        kind, text = _TRAINING_DOCS[name]
        text = parameter_docs.get(name, text).format(**values)
        lines.append(f"{indent}{name} : {kind}\n")
        lines.extend(f"{indent}    {line}\n" for line in _wrap(text, 88 - len(indent)))
    return "".join(lines)


def _wrap(text, width):
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def fill_docstring(doc, presets, parameter_docs):
    r"""Replace the marker lines of an estimator's docstring by the shared entries.

    Parameters
    ----------
    doc : str
        The class docstring, with ``<training parameters>`` and ``<fitted attributes>``
        lines where the shared entries go (either may be absent).
    presets : dict
        The estimator's preset table (see :func:`training_parameters_doc`).
    parameter_docs : dict
        The estimator's own wording of shared parameters, by name.

    Returns
    -------
    doc : str
        The docstring with the entries in place.

    Examples
    --------
    >>> doc = fill_docstring("Attributes\n    <fitted attributes>\n", {}, {})
    >>> print(doc.splitlines()[1])
        n_features_in_ : int
    """
    doc = replace_marker(
        doc, "training parameters", training_parameters_doc(presets, parameter_docs)
    )
    return replace_marker(doc, "fitted attributes", _FITTED_DOCS)
