"""The scikit-learn contract shared by every nlica estimator."""

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

# The device helpers live in _device; imported here too for modules that import them
# from base (io no longer does, so base -> io is no cycle).
from ._device import resolve_device, usable_device  # noqa: F401
from .io import save as _save
from .utils.validation import check_n_components, validate_X

__all__ = ["BaseICA"]


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

    def _store_parameters(self, arguments):
        """Set each ``__init__`` argument as the attribute of its name, as given.

        ``arguments`` is ``locals()`` at the top of a subclass's ``__init__``. As in every
        scikit-learn estimator, nothing is validated or copied here: ``fit`` does that.
        """
        for name, value in arguments.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

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
        _save(self, path)

    def _as_output(self, values, like):
        """Cast an output array to the dtype of the input ``like`` (float32 or float64)."""
        return np.asarray(values, dtype=like.dtype)
