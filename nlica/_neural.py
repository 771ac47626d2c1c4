"""BaseNeuralICA: the fit template of every torch estimator.

``fit`` validates ``X`` and ``groups``, whitens, seeds, builds the module, trains it with
the shared loop (:func:`nlica._training.train`) and keeps the best of ``n_init`` runs.
An estimator fills in four hooks:

``_build_module(n_features, n_components)``
    the ``torch.nn.Module`` to train;
``_prepare(Z, runs, generator, fit_params)``
    samplers and tensors for training; returns ``batch_fn``;
``_loss(module, batch)``
    ``(loss, metrics)`` of one batch;
``_train_config()``
    the :class:`~nlica._training.TrainConfig` from the parameters and ``preset``;

and optionally ``_after_fit(Z, runs, fit_params)``, ``_encode(module, Z)`` (what
``transform`` returns for whitened input) and ``_restart_after(module, Z)`` (False ends
the ``n_init`` restarts early, e.g. once a run is known to be good).
"""

import copy
import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._training import train
from .base import BaseICA, resolve_device, usable_device
from .utils.validation import check_groups, check_time_in_rows
from .utils.validation import column_signs as _column_signs

__all__ = ["BaseNeuralICA"]

# Rows per chunk in transform and in the whitening statistics: bounds memory on long
# recordings (a wide network's float64 activations take several kB per row).
_TRANSFORM_BATCH = 1 << 12

# Training parameters every neural estimator has (merged into its _parameter_constraints).
TRAINING_CONSTRAINTS = {
    "clip_grad_norm": [Interval(numbers.Real, 0.0, None, closed="neither"), None],
    "precision": [StrOptions({"float32", "bf16"})],
    "compile": ["boolean"],
    "memory_budget": [Interval(numbers.Real, 0.0, None, closed="neither"), None],
}


def _row_chunks(X):
    """Yield float64 copies of consecutive row blocks of ``X`` (which may be a memmap)."""
    for start in range(0, X.shape[0], _TRANSFORM_BATCH):
        # np.array copies even float64 input: callers modify the block in place.
        yield np.array(X[start : start + _TRANSFORM_BATCH], dtype=np.float64)


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


def check_finite_output(values, name):
    """Raise a ValueError when a float32 network's output overflowed (never return NaN).

    Parameters
    ----------
    values : ndarray
        The output.
    name : str
        The input argument whose values were out of range (``"X"``, ``"S"``).

    Returns
    -------
    values : ndarray
        ``values``, unchanged.
    """
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"{name} has values far outside the range seen in fit: the float32 network "
            f"overflowed and gave non-finite output. Check the units and scaling of {name}."
        )
    return values


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
# Largest activation (elements of one layer's output per step) trained with one CPU thread:
# smaller kernels gain nothing from more threads, and a busy second core slows them badly.
_SMALL_STEP = 1 << 20


class BaseNeuralICA(BaseICA):
    """Shared fit/transform machinery for the neural nonlinear ICA estimators.

    Not used directly; see :class:`nlica.TCL`, :class:`nlica.PCL` and
    :class:`nlica.SlowVAE`.

    Examples
    --------
    >>> issubclass(BaseNeuralICA, BaseICA)
    True
    """

    # Smallest recording piece a method can use (2 for lag-1 pairs).
    _min_run_length = 1
    # Whether X is PCA-whitened before the network (the papers' preprocessing).
    _whiten_input = True

    # ------------------------------------------------------------------ hooks
    def _build_module(self, n_features, n_components):  # pragma: no cover - abstract
        raise NotImplementedError

    def _prepare(self, Z, runs, generator, fit_params):  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss(self, module, batch):  # pragma: no cover - abstract
        raise NotImplementedError

    def _train_config(self):  # pragma: no cover - abstract
        raise NotImplementedError

    # The subclass's preset table, {"fast": {...}, "paper": {...}}, read by _setting.
    _presets = {}

    def _setting(self, name):
        """Return parameter ``name``, or the preset's value when the parameter is None."""
        value = getattr(self, name, None)
        return self._presets[self.preset][name] if value is None else value

    def _given_hidden_sizes(self):
        """Return ``hidden_layer_sizes`` as a list of ints (None when not given)."""
        if self.hidden_layer_sizes is None:
            return None
        sizes = np.asarray(self.hidden_layer_sizes).reshape(-1)
        if sizes.size and (sizes.dtype.kind not in "iu" or np.any(sizes < 1)):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive integers; got "
                f"{self.hidden_layer_sizes!r}."
            )
        return [int(h) for h in sizes]

    @staticmethod
    def _one_thread_if_small(Z, activations):
        """Train on one CPU thread when a step's largest activation is small.

        ``_fit_neural`` restores the caller's thread count afterwards.
        """
        if Z.device.type == "cpu" and activations <= _SMALL_STEP:
            torch.set_num_threads(1)

    def _n_init(self):
        """Return the number of training restarts (``n_init``; ``None`` or absent: 1)."""
        n_init = getattr(self, "n_init", None)
        return 1 if n_init is None else max(1, int(n_init))

    def _restart_after(self, module, Z):
        """Return whether to train the next of the ``_n_init()`` runs after this one."""
        return True

    def _train_kwargs(self, module):
        """Extra keyword arguments of :func:`~nlica._training.train` (decay/head params)."""
        return {}

    def _after_fit(self, Z, runs, fit_params):
        """Work after training (e.g. TCL's linear ICA); Z is the whitened training data."""

    def _encode(self, module, Z):
        return module(Z)

    # ------------------------------------------------------------ preprocessing
    def _fit_whitener(self, X):
        """PCA-whiten (float64); stores ``mean_`` and ``whitening_``.

        The statistics are accumulated over row blocks, so a memmap X is never copied whole.
        """
        mean, cov, scale = _mean_cov(X)
        if not self._whiten_input:
            std = np.sqrt(np.diag(cov)) * scale
            if np.any(std == 0):
                bad = np.flatnonzero(std == 0).tolist()
                raise ValueError(
                    f"X has constant feature(s) {bad}; remove them before fitting."
                )
            self.mean_ = mean
            self.whitening_ = np.diag(1.0 / std)
            return
        eig, u = np.linalg.eigh(cov)
        order = np.argsort(eig)[::-1]
        eig, u = eig[order], u[:, order]
        tiny = eig[0] * X.shape[1] * np.finfo(np.float32).eps if eig[0] > 0 else 1.0
        rank = int(np.sum(eig > tiny))
        if rank < X.shape[1]:
            raise ValueError(
                f"X has only {rank} linearly independent feature direction(s) out of "
                f"{X.shape[1]} (constant or duplicated channels?); whitening would divide by "
                "zero. Remove the redundant channels, or reduce X with PCA first."
            )
        u = u * _column_signs(u)
        self.mean_ = mean
        self.whitening_ = (u / (np.sqrt(eig) * scale)).T

    def _whitened_tensor(self, X, device, dtype=torch.float32):
        Z = (np.asarray(X, dtype=np.float64) - self.mean_) @ self.whitening_.T
        # torch.tensor copies: the caller's array is never shared with the model.
        return torch.tensor(Z, dtype=dtype, device=device)

    def _training_data(self, X, device):
        """Return the whitened training data: a device tensor, or rows whitened on demand.

        When the float32 copy would exceed ``memory_budget`` MiB, batches are read from
        ``X`` itself (e.g. a ``numpy.memmap``) instead, whitened and moved each step.
        """
        budget = getattr(self, "memory_budget", None)
        if budget is None or X.shape[0] * X.shape[1] * 4 <= budget * 2**20:
            return self._whitened_tensor(X, device)
        return _StreamedRows(X, lambda rows: self._whitened_tensor(rows, device), device)

    def _net64(self):
        """Return a float64 copy of the trained module, in eval mode."""
        return copy.deepcopy(self.module_).to(torch.float64).eval()

    def _whitened_blocks64(self, X=None, Z=None):
        """Yield float64 blocks of whitened ``X`` (or of the whitened tensor ``Z``).

        In float64 each row's result does not depend on the rows batched with it (float32
        kernels round differently by batch size), which keeps transforms row-independent.
        """
        n = X.shape[0] if Z is None else Z.shape[0]
        for start in range(0, n, _TRANSFORM_BATCH):
            if Z is None:
                yield self._whitened_tensor(X[start : start + _TRANSFORM_BATCH], self.device_,
                                            dtype=torch.float64)
            else:
                yield Z[start : start + _TRANSFORM_BATCH].to(torch.float64)

    # -------------------------------------------------------------------- fit
    def _fit_neural(self, X, groups, fit_params):
        n_threads = torch.get_num_threads()
        try:
            return self._fit_neural_body(X, groups, fit_params)
        finally:
            # _prepare may lower the thread count for small networks on the CPU.
            torch.set_num_threads(n_threads)

    def _fit_neural_body(self, X, groups, fit_params):
        self._validate_params()
        X, n_components = self._validate_fit_data(X)
        self._check_layout(X)
        runs = check_groups(groups, X.shape[0], min_run_length=self._min_run_length)
        device = resolve_device(self.device)
        self._check_fit_params(X, runs, n_components, fit_params)
        self._fit_whitener(X)
        Z = self._training_data(X, device)
        self.n_components_ = n_components
        self.device_ = device

        rng = check_random_state(self.random_state)
        seeds = rng.randint(0, 2**31 - 1, size=self._n_init())
        config = self._train_config()
        config.clip_grad_norm = self.clip_grad_norm
        config.precision = self.precision
        config.compile = bool(self.compile)
        best = None
        for seed in seeds:
            seed = int(seed)
            # Weights are drawn on the CPU from the seed without touching the user's RNG,
            # so a fit is reproducible whatever the device.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                module = self._build_module(X.shape[1], n_components)
            module = module.to(device)
            generator = torch.Generator(device=device)
            generator.manual_seed(seed)
            batch_fn = self._prepare(Z, runs, generator, fit_params)
            history, n_iter = train(
                module, self._loss, batch_fn, config, name=type(self).__name__,
                **self._train_kwargs(module),
            )
            final = history[-1]["loss"]
            if best is None or final < best[0]:
                best = (final, module, history, n_iter)
            if not self._restart_after(module, Z):
                break
        _, module, history, n_iter = best
        self.module_ = module
        self.history_ = history
        self.loss_curve_ = [h["loss"] for h in history]
        self.n_iter_ = n_iter
        self._after_fit(Z, runs, fit_params)
        return self

    def _check_layout(self, X):
        """Refuse channels-first data before any n_features^2 matrix is formed."""
        check_time_in_rows(X, type(self).__name__)

    def _check_fit_params(self, X, runs, n_components, fit_params):
        """Check method-specific data needs (e.g. enough samples for a batch)."""

    # -------------------------------------------------------------- transform
    def _features(self, X, encode=None):
        """Encode whitened X in chunks on the device; returns a float32 numpy array."""
        encode = self._encode if encode is None else encode
        out = []
        with torch.no_grad():
            for start in range(0, X.shape[0], _TRANSFORM_BATCH):
                Z = self._whitened_tensor(X[start : start + _TRANSFORM_BATCH], self.device_)
                out.append(encode(self.module_, Z).float().cpu().numpy())
        if not out:
            return np.empty((0, self.n_components_))
        return check_finite_output(np.concatenate(out, axis=0), "X")

    def transform(self, X):
        """Return the estimated sources of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data in the feature space seen in ``fit``.

        Returns
        -------
        S : ndarray of shape (n_samples, n_components)
            Estimated sources, in ``X``'s float dtype.
        """
        X = self._validate_transform_data(X)
        return self._as_output(self._features(X), X)

    # ---------------------------------------------------------------- pickling
    def __getstate__(self):
        # Pickle modules on the CPU so a GPU-fitted model loads on a CPU-only machine.
        state = super().__getstate__()
        if "module_" in state:
            state["module_"] = copy.deepcopy(state["module_"]).to("cpu")
            state["device_"] = str(state["device_"])
        return state

    def __setstate__(self, state):
        device = state.get("device_")
        if isinstance(device, str):
            dev = usable_device(device)
            state["device_"] = dev
            if "module_" in state:
                state["module_"] = state["module_"].to(dev)
        super().__setstate__(state)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "module_")

    def _check_is_fitted(self):
        check_is_fitted(self)
