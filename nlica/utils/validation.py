"""Input checks shared by every estimator and public function.

This module is the only place in nlica that relies on scikit-learn's validation helpers, so a
change in scikit-learn touches one file.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, validate_data

__all__ = [
    "check_groups",
    "check_labels",
    "check_n_components",
    "validate_X",
    "group_runs",
]


def _reject_bad_kind(X, name):
    """Raise TypeError for sparse, complex, string or object input, before numpy coerces it."""
    if sp.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix; nlica needs a dense array of shape "
            "(n_samples, n_features). Convert it with X.toarray() if it fits in memory."
        )
    dtype = getattr(X, "dtype", None)
    if dtype is None:
        return
    if np.issubdtype(dtype, np.complexfloating):
        # ValueError, as scikit-learn raises for complex data.
        raise ValueError(
            f"Complex data not supported: {name} has dtype {dtype}; nlica needs real values."
        )
    if dtype.kind in "US":
        raise TypeError(f"{name} has dtype {dtype}; nlica needs numeric data.")


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

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator
    >>> validate_X(BaseEstimator(), np.ones((3, 2)), reset=True).shape
    (3, 2)
    """
    _reject_bad_kind(X, name)
    if dtype is None:
        dtype = [np.float64, np.float32]
    return validate_data(
        estimator,
        X,
        reset=reset,
        dtype=dtype,
        ensure_min_samples=ensure_min_samples,
        ensure_all_finite=True,
    )


def check_array_2d(X, *, name, ensure_min_samples=1, dtype=np.float64):
    """Convert ``X`` to a finite 2-D float array (public-API twin of :func:`validate_X`).

    Parameters
    ----------
    X : array-like
        Input; 1-D input is read as a single column.
    name : str
        Name of the argument in error messages.
    ensure_min_samples : int, default=1
        The fewest rows accepted.
    dtype : dtype, default=np.float64
        The dtype of the result.

    Returns
    -------
    X : ndarray of shape (n_samples, n_columns)
        A finite 2-D array (possibly the caller's; never write to it).

    Examples
    --------
    >>> check_array_2d([1.0, 2.0], name="s").shape
    (2, 1)
    """
    _reject_bad_kind(X, name)
    X = np.asarray(X) if not hasattr(X, "__array__") else X
    if np.ndim(X) == 1:
        X = np.reshape(X, (-1, 1))
    return check_array(
        X,
        dtype=dtype,
        ensure_min_samples=ensure_min_samples,
        ensure_all_finite=True,
        input_name=name,
    )


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
            f"{name} must be 1-D with one label per sample; got an array of shape "
            f"{labels.shape}."
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
