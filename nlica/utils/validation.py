"""Input checks shared by every estimator and public function.

This module is the only place in nlica that relies on scikit-learn's validation helpers, so a
change in scikit-learn touches one file.
"""

import numbers
import re

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, validate_data

__all__ = [
    "check_array_2d",
    "check_finite",
    "check_groups",
    "check_labels",
    "encode_known_labels",
    "check_n_components",
    "check_sample_weight",
    "validate_X",
    "caller_stacklevel",
    "check_time_in_rows",
    "group_runs",
    "segment_runs",
]


def _names(message, name):
    """Whether ``message`` mentions ``name`` as a word (so "X" is not found in "Xc")."""
    pattern = r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])"
    return re.search(pattern, message) is not None


def _as_array_like(X, name):
    """Turn a nested sequence into an ndarray once, so its dtype and shape can be checked.

    Anything with a ``shape`` (arrays, DataFrames, sparse matrices) passes through untouched
    (never copied here); objects that only define ``__array__`` are converted.
    """
    if sp.issparse(X) or hasattr(X, "shape"):
        return X
    try:
        return np.asarray(X)
    except (ValueError, TypeError) as exc:
        # Ragged nested lists: numpy's own message does not say which argument.
        raise ValueError(
            f"{name} could not be read as an array ({exc}); it must be an array-like of "
            "shape (n_samples, n_features) with the same number of values in every row."
        ) from exc


def _reject_bad_kind(X, name):
    """Raise TypeError for sparse, complex, string or object input, before numpy coerces it."""
    if sp.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix; nlica needs a dense array of shape "
            f"(n_samples, n_features). Convert it with {name}.toarray() if it fits in memory."
        )
    dtype = getattr(X, "dtype", None)
    if dtype is None:
        return
    if np.issubdtype(dtype, np.complexfloating):
        # ValueError, as scikit-learn raises for complex data.
        raise ValueError(
            f"Complex data not supported: {name} has dtype {dtype}; nlica needs real values."
        )
    if dtype.kind in "USV":
        raise TypeError(
            f"{name} has dtype {dtype} (strings or bytes); nlica needs numeric data "
            "(float, int or bool). Convert it with np.asarray(..., dtype=float) first."
        )


def _check_ndim(X, name, *, allow_1d):
    """Raise a ValueError naming ``name`` unless ``X`` is 2-D (or 1-D when allowed)."""
    shape = tuple(getattr(X, "shape", ()))
    ndim = len(shape)
    if ndim == 2 or (ndim == 1 and allow_1d):
        return
    expected = "a 1D or 2D array" if allow_1d else "a 2D array of shape (n_samples, n_features)"
    if ndim == 0:
        got = f"a scalar (0-dim {type(X).__name__})"
    elif ndim == 1:
        # "Reshape your data" is the phrase scikit-learn's estimator checks look for.
        got = (
            f"a 1-D array of shape {shape}. Reshape your data with {name}.reshape(-1, 1) if "
            f"it is one feature or {name}.reshape(1, -1) if it is one sample"
        )
    else:
        got = f"a {ndim}-dim array of shape {shape}"
    raise ValueError(f"{name} must be {expected}; got {got}.")


def _name_sklearn_errors(call, name):
    """Run a scikit-learn check; make sure its error message names the argument.

    scikit-learn's messages ("Found array with 1 sample(s) ...") keep their text, which
    its own estimator checks match on; a sentence naming ``name`` is put in front of those
    that do not name it already.
    """
    try:
        return call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if _names(message, name):
            raise
        kind = ValueError if isinstance(exc, ValueError) else TypeError
        raise kind(f"{name} is not a valid data array: {message}") from exc


def check_finite(X, name):
    """Raise a ValueError naming ``name`` and the first bad entry if ``X`` is not finite.

    Parameters
    ----------
    X : ndarray
        A numeric array (not modified).
    name : str
        Name of the argument in the message.

    Raises
    ------
    ValueError
        If ``X`` holds NaN or infinity.

    Examples
    --------
    >>> check_finite(np.array([[1.0, np.nan]]), "S")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ValueError: S contains NaN or infinity ...
    """
    finite = np.isfinite(X)
    if finite.all():
        return
    bad = np.argwhere(~finite)
    first = tuple(int(i) for i in bad[0])
    value = X[first]
    what = "NaN" if np.isnan(value) else "infinity"
    where = f"row {first[0]}, column {first[1]}" if len(first) == 2 else f"index {first}"
    raise ValueError(
        f"{name} contains NaN or infinity: {len(bad)} non-finite value(s), the first "
        f"({what}) at {where}; nlica needs finite numbers, so drop or impute them first."
    )


def validate_X(estimator, X, *, reset, ensure_min_samples=2, dtype=None, name="X"):
    """Validate a data matrix for an estimator and record or check its feature count.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator; ``n_features_in_`` is set when ``reset`` is true and checked otherwise.
    X : array-like of shape (n_samples, n_features)
        The data, rows in time order.
    reset : bool
        True in ``fit``, False in ``transform``.
    ensure_min_samples : int, default=2
        The fewest rows accepted.
    dtype : dtype or list of dtypes, default=None
        Accepted float dtypes; ``None`` means float64 or float32, keeping float32.
    name : str, default="X"
        Name of the argument in error messages.

    Returns
    -------
    X : ndarray
        A 2-D finite float array. It may be the caller's array: never write to it.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, has too few rows or no columns, holds NaN or infinity, is
        complex, or (``reset=False``) has another number of features than in ``fit``.
    TypeError
        If ``X`` is sparse or holds strings.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator
    >>> validate_X(BaseEstimator(), np.ones((3, 2)), reset=True).shape
    (3, 2)
    """
    if dtype is None:
        dtype = [np.float64, np.float32]
    return _checked(
        X,
        name,
        False,
        lambda X: validate_data(
            estimator,
            X,
            reset=reset,
            dtype=dtype,
            ensure_min_samples=ensure_min_samples,
            ensure_all_finite=False,
        ),
    )


def check_array_2d(X, *, name, ensure_min_samples=1, dtype=np.float64, allow_1d=True):
    """Convert ``X`` to a finite 2-D float array (public-API twin of :func:`validate_X`).

    Parameters
    ----------
    X : array-like
        Input; 1-D input is read as a single column when ``allow_1d`` is true.
    name : str
        Name of the argument in error messages.
    ensure_min_samples : int, default=1
        The fewest rows accepted.
    dtype : dtype or list of dtypes, default=np.float64
        The dtype of the result (with a list: kept if it is in the list, else the first).
    allow_1d : bool, default=True
        Whether 1-D input is accepted (as one column).

    Returns
    -------
    X : ndarray of shape (n_samples, n_columns)
        A finite 2-D array (possibly the caller's; never write to it).

    Raises
    ------
    ValueError
        If ``X`` has the wrong number of dimensions, too few rows, no columns, NaN or
        infinity, or is complex.
    TypeError
        If ``X`` is sparse or holds strings.

    Examples
    --------
    >>> check_array_2d([1.0, 2.0], name="s").shape
    (2, 1)
    """
    return _checked(
        X,
        name,
        allow_1d,
        lambda X: check_array(
            X,
            dtype=dtype,
            ensure_min_samples=ensure_min_samples,
            ensure_all_finite=False,
            input_name=name,
        ),
    )


def _checked(X, name, allow_1d, convert):
    """Run the checks of validate_X and check_array_2d around scikit-learn's ``convert``.

    Kind and dimensions first (nlica's messages), then the conversion (its errors named
    after ``name``), then finiteness: scikit-learn's own message advises
    HistGradientBoosting, so ``convert`` must not check it.
    """
    X = _as_array_like(X, name)
    _reject_bad_kind(X, name)
    _check_ndim(X, name, allow_1d=allow_1d)
    if len(X.shape) == 1:
        X = np.reshape(X, (-1, 1))
    X = _name_sklearn_errors(lambda: convert(X), name)
    check_finite(X, name)
    return X


def check_n_components(n_components, n_features, *, name="n_components"):
    """Resolve ``n_components`` against the number of features.

    Parameters
    ----------
    n_components : int or None
        Requested number of components; ``None`` means ``n_features``.
    n_features : int
        Number of features of the data.
    name : str, default="n_components"
        Name of the parameter in error messages.

    Returns
    -------
    n_components : int
        The resolved number of components.

    Raises
    ------
    ValueError
        If ``n_components`` exceeds ``n_features``.

    Examples
    --------
    >>> check_n_components(None, 4)
    4
    """
    if n_components is None:
        return int(n_features)
    if n_components > n_features:
        raise ValueError(
            f"{name}={n_components} is larger than the number of features of X "
            f"({n_features}); choose {name} <= {n_features}."
        )
    return int(n_components)


def check_sample_weight(sample_weight, n_samples):
    """Check per-sample weights: ``n_samples`` finite non-negative numbers, not all zero.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        The weights.
    n_samples : int
        Number of samples they weigh.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,) or None
        A float64 copy (None stays None).

    Raises
    ------
    ValueError
        If the weights are not ``n_samples`` finite non-negative numbers with a positive sum.

    Examples
    --------
    >>> check_sample_weight([1, 2], 2)
    array([1., 2.])
    """
    if sample_weight is None:
        return None
    expected = f"sample_weight must be {n_samples} finite non-negative weights, one per sample of X"
    try:
        weights = np.array(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{expected}; got {sample_weight!r:.80}.") from exc
    if weights.shape != (n_samples,) or not np.all(np.isfinite(weights)):
        raise ValueError(f"{expected}; got shape {weights.shape}.")
    if np.any(weights < 0):
        raise ValueError(f"{expected}; got the negative weight {weights.min():g}.")
    if not weights.sum() > 0:
        raise ValueError(f"{expected}, with a positive sum; got all zeros.")
    return weights


def check_groups(groups, n_samples, *, name="groups", min_run_length=1):
    """Validate recording labels and return them as consecutive integers.

    A recording is a maximal run of consecutive samples with the same label, so a label that
    reappears after another recording starts a new piece: no pair or segment is ever drawn
    across the boundary between two runs.

    Parameters
    ----------
    groups : array-like of shape (n_samples,) or None
        Label of each sample's recording; ``None`` means one recording.
    n_samples : int
        Number of samples of ``X``.
    name : str, default="groups"
        Name of the argument in error messages.
    min_run_length : int, default=1
        The fewest samples each run must have (for example 2 for a lag-1 pair).

    Returns
    -------
    runs : ndarray of shape (n_samples,), dtype int64
        Run index of each sample, 0, 1, ... in time order.

    Raises
    ------
    ValueError
        If the length does not match, the labels contain NaN, are not 1-D, or a run is
        shorter than ``min_run_length``.

    Examples
    --------
    >>> check_groups(["a", "a", "b", "b", "a"], 5)
    array([0, 0, 1, 1, 2])
    """
    if groups is None:
        runs = np.zeros(n_samples, dtype=np.int64)
    else:
        labels = check_labels(groups, n_samples, name=name)
        change = np.ones(n_samples, dtype=bool)
        if n_samples > 1:
            change[1:] = labels[1:] != labels[:-1]
        runs = np.cumsum(change) - 1
    if min_run_length > 1 and n_samples:
        lengths = np.bincount(runs)
        short = np.flatnonzero(lengths < min_run_length)
        if short.size:
            raise ValueError(
                f"{name}: recording piece {int(short[0])} has {int(lengths[short[0]])} "
                f"sample(s), fewer than the {min_run_length} this method needs; drop it or "
                "merge it with its neighbour."
            )
    return runs.astype(np.int64)


def check_labels(labels, n_samples, *, name):
    """Check a 1-D array of per-sample labels (recordings, segments) and return it.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        One label (int or str) per sample.
    n_samples : int
        Number of samples of ``X``.
    name : str
        Name of the argument in error messages.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        The labels as an array.

    Raises
    ------
    ValueError
        If the array is not 1-D, has the wrong length or holds NaN or infinity.
    TypeError
        If it is sparse or complex.

    Examples
    --------
    >>> check_labels([0, 0, 1], 3, name="groups").tolist()
    [0, 0, 1]
    """
    if sp.issparse(labels):
        raise TypeError(f"{name} must be a 1-D array of labels, not a sparse matrix.")
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D with one label per sample; got an array of shape {labels.shape}."
        )
    if labels.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {labels.shape[0]} entries but X has {n_samples} samples; "
            "give one label per sample."
        )
    if labels.dtype.kind == "c":
        raise TypeError(f"{name} has complex dtype; labels must be ints or strings.")
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise ValueError(f"{name} contains NaN or infinity; labels must be finite.")
    if labels.dtype.kind == "O" and any(
        isinstance(v, float) and not np.isfinite(v) for v in labels
    ):
        raise ValueError(f"{name} contains NaN or infinity; labels must be finite.")
    return labels


def encode_known_labels(labels, classes, n_samples, *, knower):
    """Return the index in ``classes`` of each segment label, all seen in ``fit``.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Segment labels of new data.
    classes : ndarray
        The sorted labels seen in ``fit`` (``segment_classes_``).
    n_samples : int
        Number of samples of ``X``.
    knower : str
        What knows the labels, for the error message ("the classifier", "the prior").

    Returns
    -------
    codes : ndarray of shape (n_samples,)
        Index of each label in ``classes``.

    Raises
    ------
    ValueError
        If ``labels`` has the wrong shape, or holds a label not in ``classes`` (or one
        that cannot be compared with them).

    Examples
    --------
    >>> import numpy as np
    >>> encode_known_labels(["b", "a"], np.array(["a", "b"]), 2, knower="the model").tolist()
    [1, 0]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != n_samples:
        raise ValueError(
            f"segments has shape {labels.shape} but X has {n_samples} samples; give one "
            "label per sample."
        )
    try:
        codes = np.clip(np.searchsorted(classes, labels), 0, len(classes) - 1)
        known = classes[codes] == labels
    except TypeError as exc:
        raise ValueError(
            f"segments labels cannot be compared with those seen in fit: {exc}."
        ) from exc
    if not np.all(known):
        raise ValueError(
            f"segments contains the label {labels[~known][0]!r}, unseen in fit; {knower} "
            f"knows {len(classes)} segment labels (segment_classes_)."
        )
    return codes


def group_runs(runs):
    """Return the start and stop index of each run of :func:`check_groups` output.

    Parameters
    ----------
    runs : ndarray of shape (n_samples,)
        Run indices, non-decreasing from 0.

    Returns
    -------
    starts, stops : ndarray of int64
        ``runs[starts[k]:stops[k]] == k``.

    Examples
    --------
    >>> group_runs(np.array([0, 0, 1, 1, 1]))
    (array([0, 2]), array([2, 5]))
    """
    n_runs = int(runs[-1]) + 1 if runs.size else 0
    lengths = np.bincount(runs, minlength=n_runs)
    stops = np.cumsum(lengths)
    return stops - lengths, stops


def segment_runs(codes, runs):
    """Return the start and stop index of each piece of constant segment in one recording.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Segment code of each sample.
    runs : ndarray of shape (n_samples,)
        Recording index of each sample.

    Returns
    -------
    starts, stops : ndarray of int64
        A new piece starts where the segment or the recording changes.

    Examples
    --------
    >>> segment_runs(np.array([0, 0, 1, 1, 1]), np.array([0, 0, 0, 1, 1]))
    (array([0, 2, 3]), array([2, 3, 5]))
    """
    change = np.ones(codes.shape[0], dtype=bool)
    change[1:] = (codes[1:] != codes[:-1]) | (runs[1:] != runs[:-1])
    return group_runs(np.cumsum(change) - 1)


def column_signs(u):
    """Signs that make the first entry of each column of ``u`` non-negative.

    Fixes the arbitrary sign of eigenvectors as scikit-learn does, except that a zero
    first entry (a constant first feature) keeps its column instead of zeroing it.

    Parameters
    ----------
    u : ndarray of shape (n, k)
        Eigenvectors in columns.

    Returns
    -------
    signs : ndarray of shape (k,)
        +1 or -1 per column.

    Examples
    --------
    >>> column_signs(np.array([[-1.0, 0.0], [0.0, 1.0]])).tolist()
    [-1.0, 1.0]
    """
    signs = np.sign(u[0])
    signs[signs == 0] = 1.0
    return signs


def check_scalar_in(value, name, allowed):
    """Raise a ValueError naming ``name`` if ``value`` is not one of ``allowed``.

    Parameters
    ----------
    value : object
        The value given.
    name : str
        Parameter name.
    allowed : sequence
        Accepted values.

    Returns
    -------
    value : object
        ``value`` unchanged.

    Examples
    --------
    >>> check_scalar_in("a", "mode", ["a", "b"])
    'a'
    """
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}; got {value!r}.")
    return value


def is_int(value):
    """Return True for Python and numpy integers (not bools).

    Parameters
    ----------
    value : object
        Value to test.

    Returns
    -------
    bool
        Whether ``value`` is an integer.

    Examples
    --------
    >>> is_int(3), is_int(True)
    (True, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def caller_stacklevel():
    """Return the ``stacklevel`` that points a warning at the first frame outside nlica.

    Frames of nlica and of scikit-learn (whose wrappers sit around ``fit`` and
    ``fit_transform``) are skipped, so the warning names the user's line.

    Returns
    -------
    stacklevel : int
        For ``warnings.warn`` called by the function that calls this one.

    Examples
    --------
    >>> caller_stacklevel() >= 1
    True
    """
    import os
    import sys

    import sklearn

    skip = (
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
        os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep,
    )
    frame = sys._getframe(1)  # the function that will call warnings.warn
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(skip):
        frame = frame.f_back
        level += 1
    return level


def check_time_in_rows(X, estimator_name, name="X"):
    """Raise a ValueError when ``X`` has more columns than rows (channels-first data).

    The time-series estimators need many time points per feature; a wide array is almost
    always a recording passed as ``(n_channels, n_times)`` (MNE's layout).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The validated data.
    estimator_name : str
        Name of the estimator, for the message.
    name : str, default="X"
        Name of the argument in the message.

    Raises
    ------
    ValueError
        If ``n_features > n_samples``.

    Examples
    --------
    >>> check_time_in_rows(np.ones((10, 2)), "TCL")
    """
    n_samples, n_features = X.shape
    if n_features > n_samples:
        raise ValueError(
            f"{name} has shape {X.shape}: more features ({n_features}) than samples "
            f"({n_samples}). {estimator_name} reads rows as time points and columns as "
            f"channels; if {name} is channels x times (as mne's get_data() returns), pass "
            f"{name}.T."
        )
