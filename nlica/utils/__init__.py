"""Utilities: several recordings in one array, and input validation."""

from collections.abc import Sequence

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

    Raises
    ------
    TypeError
        If ``recordings`` is not a list or tuple (a single array, a generator), or a
        recording is sparse or holds strings.
    ValueError
        If the list is empty, a recording is not 1-D or 2-D, is empty or not finite, or the
        recordings have different numbers of features.

    Examples
    --------
    >>> import numpy as np
    >>> X, groups = stack_recordings([np.zeros((3, 2)), np.ones((2, 2))])
    >>> X.shape, groups.tolist()
    ((5, 2), [0, 0, 0, 1, 1])
    """
    if (
        isinstance(recordings, str | bytes)
        or hasattr(recordings, "shape")
        or not isinstance(recordings, Sequence)
    ):
        # A single array would silently be read as a list of rows.
        raise TypeError(
            "recordings must be a list (or tuple) of 2-D arrays, one per recording; got "
            f"{type(recordings).__name__}. For one recording pass [X]."
        )
    if len(recordings) == 0:
        raise ValueError(
            "recordings is an empty list; give at least one recording of shape "
            "(n_samples, n_features)."
        )
    arrays = [check_array_2d(r, name=f"recordings[{k}]") for k, r in enumerate(recordings)]
    widths = {a.shape[1] for a in arrays}
    if len(widths) != 1:
        got = ", ".join(f"recordings[{k}] has {a.shape[1]}" for k, a in enumerate(arrays))
        raise ValueError(
            f"recordings must all have the same number of features (columns); got {got}."
        )
    groups = np.concatenate([np.full(len(a), k, dtype=np.int64) for k, a in enumerate(arrays)])
    return np.concatenate(arrays, axis=0), groups
