"""Utilities: several recordings in one array, and input validation."""

import numpy as np

from .validation import check_array_2d

__all__ = ["stack_recordings"]


def stack_recordings(recordings):
    """Stack several recordings into one array with recording labels.

    Parameters
    ----------
    recordings : sequence of array-like, each of shape (n_samples_k, n_features)
        The recordings, each in time order, with the same number of features.

    Returns
    -------
    X : ndarray of shape (sum_k n_samples_k, n_features)
        The recordings one after the other (a new array).
    groups : ndarray of shape (sum_k n_samples_k,), dtype int64
        The index of each sample's recording, to pass as ``groups=`` to ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> X, groups = stack_recordings([np.zeros((3, 2)), np.ones((2, 2))])
    >>> X.shape, groups.tolist()
    ((5, 2), [0, 0, 0, 1, 1])
    """
    if isinstance(recordings, np.ndarray) or not hasattr(recordings, "__len__"):
        raise TypeError("recordings must be a list of 2-D arrays, one per recording.")
    if len(recordings) == 0:
        raise ValueError("recordings is empty; give at least one recording.")
    arrays = [check_array_2d(r, name=f"recordings[{k}]") for k, r in enumerate(recordings)]
    widths = {a.shape[1] for a in arrays}
    if len(widths) != 1:
        raise ValueError(
            f"recordings must all have the same number of features; got {sorted(widths)}."
        )
    groups = np.concatenate([np.full(len(a), k, dtype=np.int64) for k, a in enumerate(arrays)])
    return np.concatenate(arrays, axis=0), groups
