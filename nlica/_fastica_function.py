"""``fastica``: scikit-learn's functional FastICA interface over :class:`nlica.FastICA`."""

import inspect

from ._fastica import FastICA

__all__ = ["fastica"]


# The FastICA parameters that scikit-learn's function takes too (not the backend ones).
_SHARED = (
    "algorithm", "whiten", "fun", "fun_args", "max_iter", "tol", "w_init", "whiten_solver",
    "random_state",
)  # fmt: skip


def fastica(
    X,
    n_components=None,
    *,
    return_X_mean=False,
    compute_sources=True,
    return_n_iter=False,
    **params,
):
    """Perform FastICA: the functional twin of :func:`sklearn.decomposition.fastica`.

    Same parameters and return values as scikit-learn's function; it fits a
    :class:`FastICA` (numpy backend) and returns its matrices.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training data, rows are samples.
    n_components : int, default=None
        Number of components; ``None`` keeps all.
    algorithm : {"parallel", "deflation"}, default="parallel"
        Estimate all components at once or one by one.
    whiten : {"unit-variance", "arbitrary-variance"} or False, default="unit-variance"
        Whitening strategy, as in :class:`FastICA`.
    fun : {"logcosh", "exp", "cube"} or callable, default="logcosh"
        Contrast function.
    fun_args : dict, default=None
        Arguments of ``fun``.
    max_iter : int, default=200
        Maximum number of iterations.
    tol : float, default=1e-4
        Convergence tolerance.
    w_init : ndarray of shape (n_components, n_components), default=None
        Initial unmixing matrix.
    whiten_solver : {"eigh", "svd"}, default="eigh"
        As in :class:`FastICA` (scikit-learn's default is ``"svd"``).
    random_state : int, RandomState instance or None, default=None
        Seeds ``w_init``.
    return_X_mean : bool, default=False
        Also return the feature means.
    compute_sources : bool, default=True
        Whether to compute the sources (``S`` is None otherwise).
    return_n_iter : bool, default=False
        Also return the number of iterations.

    Returns
    -------
    K : ndarray of shape (n_components, n_features) or None
        Pre-whitening matrix (None when ``whiten=False``).
    W : ndarray of shape (n_components, n_components)
        Unmixing matrix of the whitened data; the sources are
        ``S = (X - X_mean) @ (W @ K).T`` up to the unit-variance scaling.
    S : ndarray of shape (n_samples, n_components) or None
        Estimated sources.
    X_mean : ndarray of shape (n_features,)
        Feature means (None when ``whiten=False``); only with ``return_X_mean=True``.
    n_iter : int
        Iterations run; only with ``return_n_iter=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from nlica import fastica
    >>> rng = np.random.default_rng(0)
    >>> X = rng.laplace(size=(2000, 3)) @ rng.uniform(-1, 1, size=(3, 3))
    >>> K, W, S = fastica(X, random_state=0)
    >>> K.shape, W.shape, S.shape
    ((3, 3), (3, 3), (2000, 3))
    """
    unknown = sorted(set(params) - set(_SHARED))
    if unknown:
        raise TypeError(f"fastica() got an unexpected keyword argument {unknown[0]!r}")
    est = FastICA(n_components=n_components, **params, backend="numpy", device="cpu")
    est._validate_params()
    S = est._fit(X, compute_sources=compute_sources)
    if est.whiten in ("unit-variance", "arbitrary-variance"):
        K, X_mean = est.whitening_, est.mean_
    else:
        K = X_mean = None
    out = [K, est._unmixing.astype(est.components_.dtype), S]
    if return_X_mean:
        out.append(X_mean)
    if return_n_iter:
        out.append(est.n_iter_)
    return tuple(out)


def _signature():
    # FastICA's defaults are the function's: declared once, listed in the signature.
    own = list(inspect.signature(fastica).parameters.values())
    shared = [inspect.signature(FastICA).parameters[name] for name in _SHARED]
    return inspect.Signature(own[:2] + shared + own[2:-1])


fastica.__signature__ = _signature()
