"""Row access for the neural estimators: chunks, whitening and row views.

Long recordings (a ``numpy.memmap``) are read a block of rows at a time, and the
training data can be a stand-in that whitens only the rows a batch asks for.
:class:`WhiteningMixin` is the neural template's PCA whitening and its float64 blocks.
"""

import numpy as np
import torch

from .utils.validation import column_signs

__all__ = ["CHUNK_ROWS"]

# Rows per chunk wherever data pass through a network or a statistic outside training
# (transform, whitening statistics, scoring): bounds memory on long recordings (a wide
# network's float64 activations take several kB per row).
CHUNK_ROWS = 1 << 12

# Largest float32: whitened input beyond it is outside anything the network was trained on.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _thin(a, at_most):
    """Return at most ``at_most`` evenly spaced elements of ``a``, from the first on.

    Every ``k``-th element, ``k`` the smallest step that leaves at most ``at_most``, so
    they span all of ``a`` (a numpy array or a 1-d tensor); an empty ``a`` stays empty.

    Examples
    --------
    >>> _thin(np.arange(10), 4)
    array([0, 3, 6, 9])
    """
    return a[:: max(1, -(-len(a) // at_most))]


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


class WhiteningMixin:
    """PCA whitening of the neural template (:class:`nlica._neural.BaseNeuralICA`).

    Fits ``mean_``, ``whitening_`` and ``explained_variance_ratio_``, gives the whitened
    training data (a tensor, or rows whitened on demand above ``memory_budget``), maps
    whitened rows back, and yields float64 blocks for ``transform``. The estimator
    provides ``_whitens()``, ``memory_budget``, ``device_`` and ``n_features_in_``.

    Examples
    --------
    >>> import numpy as np
    >>> from nlica import PCL
    >>> X = np.random.default_rng(0).laplace(size=(600, 4))
    >>> pcl = PCL(n_components=2, max_iter=5, random_state=0, device="cpu").fit(X)
    >>> pcl.whitening_.shape, pcl.explained_variance_ratio_.shape
    ((2, 4), (2,))
    """

    def _fit_whitener(self, X, n_components):
        """PCA-whiten (float64) to ``n_components`` dimensions.

        Stores ``mean_``, ``whitening_`` (``(n_components, n_features)``; None when the
        estimator does not whiten) and ``explained_variance_ratio_`` (the share of the
        variance of ``X`` on each kept principal direction). The statistics are
        accumulated over row blocks, so a memmap X is never copied whole.
        """
        if not self._whitens():
            self.mean_ = np.zeros(X.shape[1])
            self.whitening_ = None
            self.explained_variance_ratio_ = None
            return
        mean, cov, scale = _mean_cov(X)
        eig, u = np.linalg.eigh(cov)
        order = np.argsort(eig)[::-1]
        eig, u = eig[order], u[:, order]
        tiny = eig[0] * X.shape[1] * np.finfo(np.float32).eps if eig[0] > 0 else 1.0
        rank = int(np.sum(eig > tiny))
        n_components = min(n_components, X.shape[1])  # SlowVAE may have more latents
        if rank < n_components:
            # Fewer directions than components: whitening would divide by zero.
            raise ValueError(
                f"X has only {rank} linearly independent feature direction(s) out of "
                f"{X.shape[1]} (constant, duplicated or re-referenced channels?) but "
                f"n_components={n_components}; pass n_components={rank} or fewer (X is then "
                "reduced by PCA, as FastICA does), or remove the redundant channels."
            )
        eig, u = eig[:n_components], u[:, :n_components]
        u = u * column_signs(u)
        self.mean_ = mean
        self.whitening_ = (u / (np.sqrt(eig) * scale)).T
        total = float(np.sum(np.diag(cov)))
        self.explained_variance_ratio_ = eig / total if total > 0 else np.ones_like(eig)

    def _n_inputs(self):
        """Width of the network's input: whitened (possibly reduced) or raw features."""
        return self.n_features_in_ if self.whitening_ is None else self.whitening_.shape[0]

    def _whitened_tensor(self, X, device, dtype=torch.float32):
        """Return whitened rows of ``X`` as a new tensor of ``dtype`` on ``device``."""
        Z = np.asarray(X, dtype=np.float64)
        if self.whitening_ is not None:
            Z = (Z - self.mean_) @ self.whitening_.T
        # torch.tensor copies: the caller's array is never shared with the model.
        return torch.tensor(Z, dtype=dtype, device=device)

    def _unwhiten(self, Z):
        """Map whitened rows (ndarray) back to the units of ``X``."""
        if self.whitening_ is None:
            return Z
        # The pseudo-inverse maps reduced coordinates back to the kept principal
        # directions (the plain inverse when nothing was reduced).
        return Z @ np.linalg.pinv(self.whitening_).T + self.mean_

    def _training_data(self, X, device):
        """Return the whitened training data: a device tensor, or rows whitened on demand.

        When the float32 copy would exceed ``memory_budget`` MiB, batches are read from
        ``X`` itself (e.g. a ``numpy.memmap``) instead, whitened and moved each step.
        """
        budget = self.memory_budget
        if budget is None or X.shape[0] * self._n_inputs() * 4 <= budget * 2**20:
            return self._whitened_tensor(X, device)
        return _StreamedRows(X, lambda rows: self._whitened_tensor(rows, device), device)

    def _whitened_blocks64(self, X=None, Z=None):
        """Yield float64 blocks of whitened ``X`` (or of the whitened tensor ``Z``).

        In float64 each row's result does not depend on the rows batched with it (float32
        kernels round differently by batch size), which keeps transforms row-independent.
        """
        n = X.shape[0] if Z is None else Z.shape[0]
        for start in range(0, n, CHUNK_ROWS):
            if Z is not None:
                yield Z[start : start + CHUNK_ROWS].to(torch.float64)
                continue
            block = self._whitened_tensor(
                X[start : start + CHUNK_ROWS], self.device_, dtype=torch.float64
            )
            if not bool(torch.all(block.abs() <= _FLOAT32_MAX)):
                # The float32-trained network has never seen anything near such values.
                raise ValueError(
                    "X has values far outside the range seen in fit: whitened, they exceed "
                    "the float32 range the network was trained in. Check the units and "
                    "scaling of X."
                )
            yield block
