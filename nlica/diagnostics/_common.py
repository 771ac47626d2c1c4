"""Helpers shared by check_assumptions and component_stability."""

import numbers

import numpy as np


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")
    return int(value)


def _auto_segment_length(n):
    """Return the segment length of TCL's ``segment_length="auto"`` for ``n`` samples."""
    return int(min(512, max(2, n // 16)))


def _standardise(F):
    """Centre each column and scale it to unit variance (constant columns stay zero)."""
    F = F - F.mean(axis=0)
    sd = F.std(axis=0)
    return F / np.where(sd > 0, sd, 1.0)
