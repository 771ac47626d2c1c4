"""The scikit-learn contract shared by every nlica estimator."""

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .utils.validation import check_n_components, validate_X

__all__ = ["BaseICA", "resolve_device", "usable_device"]


def usable_device(device):
    """Return where a stored model goes on this machine: its own device when it exists.

    A model fitted on ``cuda:N`` goes to the CPU where CUDA is missing, and to the current
    CUDA device where there are fewer than ``N + 1`` GPUs (a sweep's job on its fourth GPU
    still loads on a one-GPU machine).

    Parameters
    ----------
    device : str or torch.device
        The device the model was on.

    Returns
    -------
    device : torch.device
        A device that exists here.

    Examples
    --------
    >>> usable_device("cpu")
    device(type='cpu')
    """
    dev = torch.device(device)
    if dev.type != "cuda":
        return dev
    if not torch.cuda.is_available():
        return torch.device("cpu")
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        return torch.device("cuda")
    return dev


def resolve_device(device, *, check_available=True):
    """Turn a ``device`` parameter into a :class:`torch.device`.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    check_available : bool, default=True
        Whether a CUDA device must exist on this machine; False only checks the spelling
        (for a parameter that is not used, such as FastICA's ``device`` with the numpy
        backend).

    Returns
    -------
    device : torch.device
        The resolved device.

    Raises
    ------
    ValueError
        If the string is not a device, or CUDA is asked for but not available.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        dev = device
    elif device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}."
            ) from exc
    else:
        raise TypeError(
            "device must be a string ('auto', 'cpu', 'cuda' or 'cuda:N') or a torch.device; "
            f"got {device!r} of type {type(device).__name__}."
        )
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}.")
    if dev.type == "cuda" and check_available:
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False); use device='cpu' or 'auto'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible."
            )
    return dev


class BaseICA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base class of nlica estimators: validation, feature names and tags.

    Subclasses implement ``fit`` and ``transform``; they call :meth:`_validate_fit_data`
    and :meth:`_validate_transform_data` so that every estimator checks its input the
    same way and records ``n_features_in_``.

    Examples
    --------
    >>> from nlica import FastICA
    >>> isinstance(FastICA(), BaseICA)
    True
    """

    def _validate_fit_data(self, X, *, ensure_min_samples=2):
        X = validate_X(self, X, reset=True, ensure_min_samples=ensure_min_samples)
        n_components = check_n_components(getattr(self, "n_components", None), X.shape[1])
        return X, n_components

    def _validate_transform_data(self, X):
        check_is_fitted(self)
        return validate_X(self, X, reset=False, ensure_min_samples=1)

    @property
    def _n_features_out(self):
        # Drives get_feature_names_out: one output name per component.
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def save(self, path):
        """Write the fitted estimator to ``path`` as a weights-only checkpoint.

        Load it with :func:`nlica.load`; see :func:`nlica.io.save`.

        Parameters
        ----------
        path : str or path-like
            Destination file.
        """
        from .io import save

        save(self, path)

    def _as_output(self, values, like):
        """Cast an output array to the dtype of the input ``like`` (float32 or float64)."""
        return np.asarray(values, dtype=like.dtype)
