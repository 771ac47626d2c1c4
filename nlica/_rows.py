"""Row access for the neural estimators: chunks, whitening statistics and row views.

Long recordings (a ``numpy.memmap``) are read a block of rows at a time, and the
training data can be a stand-in that whitens only the rows a batch asks for.
"""

import numpy as np
import torch

__all__ = ["CHUNK_ROWS"]

# Rows per chunk wherever data pass through a network or a statistic outside training
# (transform, whitening statistics, scoring): bounds memory on long recordings (a wide
# network's float64 activations take several kB per row).
CHUNK_ROWS = 1 << 12


def _row_chunks(X):
    """Yield float64 copies of consecutive row blocks of ``X`` (which may be a memmap)."""
    for start in range(0, X.shape[0], CHUNK_ROWS):
        # np.array copies even float64 input: callers modify the block in place.
        yield np.array(X[start : start + CHUNK_ROWS], dtype=np.float64)


def _mean_cov(X):
    """Column means and covariance of ``X`` in float64, one row block in memory at a time.

    Returns ``mean, cov, scale`` with the covariance of ``X / scale``: ``scale`` is the
    power of two nearest the largest ``|X|`` (dividing by it is exact), so data near the
    float64 range (1e200, 1e-200) neither overflow nor underflow in the products.
    """
    peak = max((float(np.max(np.abs(block))) for block in _row_chunks(X)), default=0.0)
    scale = 2.0 ** round(np.log2(peak)) if peak > 0 else 1.0
    mean = np.zeros(X.shape[1])
    for block in _row_chunks(X):
        mean += (block / scale).sum(axis=0)
    mean /= X.shape[0]
    cov = np.zeros((X.shape[1], X.shape[1]))
    for block in _row_chunks(X):
        block /= scale
        block -= mean
        cov += block.T @ block
    return mean * scale, cov / X.shape[0], scale


class _StreamedRows:
    """Whitened rows of ``X`` made on demand: the training data when X exceeds the budget.

    Indexing (with a tensor of indices or a slice) reads only those rows of ``X`` (a
    ``numpy.memmap`` stays on disk), whitens them and returns a tensor on ``device``, so it
    stands in for the whitened tensor in the estimators' samplers.
    """

    def __init__(self, X, convert, device):
        self._X = X
        self._convert = convert
        self.shape = tuple(X.shape)
        self.device = torch.device(device)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        if isinstance(index, torch.Tensor):
            index = index.cpu().numpy()
        return self._convert(self._X[index])


class _Rows:
    """Some rows of the training data (a tensor or ``_StreamedRows``), indexed like it.

    Stands in for the training data while the linear and nonlinear candidates are fitted
    on the training rows (``mixing="auto"``); indexing reads only the rows asked for.
    """

    def __init__(self, Z, rows):
        self._Z = Z
        self._rows = torch.as_tensor(rows, device=Z.device)
        self.shape = (int(self._rows.shape[0]), *tuple(Z.shape[1:]))
        self.device = Z.device

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        return self._Z[self._rows[index]]


def _relabel(runs):
    """Return recording labels 0, 1, ... of consecutive pieces (a change starts one)."""
    return np.concatenate([[0], np.cumsum(runs[1:] != runs[:-1])]) if runs.size else runs
