"""FastICA with numpy and torch solvers behind one scikit-learn estimator.

The fixed-point algorithm is Hyvärinen's (parallel and deflation variants) with the same
parameters, fitted attributes and conventions as :class:`sklearn.decomposition.FastICA`.
What makes it fast:

* whitening from the covariance matrix (one pass over ``X``) instead of an SVD of ``X``;
* each iteration is one fused pass over the whitened data, in row blocks that stay in cache,
  spread over threads (numpy) or kernels (torch), computing the nonlinearity in place;
* on large problems the iteration is first run to convergence on a random subsample, then
  finished on all samples: the fixed point is that of the full data, reached in a few
  full passes (``subsample``).
"""

import numbers
import warnings

import numpy as np
import torch
from scipy import linalg
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._device import resolve_device
from ._fastica_solvers import (
    _check_alpha,
    _power_of_two_scale,
    _source_log_density,
    fastica_solver,
)
from .base import BaseICA
from .utils._docstrings import fill_doc
from .utils.validation import caller_stacklevel, check_array_2d
from .utils.validation import column_signs as _column_signs

__all__ = ["FastICA", "fastica_solver"]

# Below this many samples a subsample warm start saves nothing.
_SUBSAMPLE_MIN_SAMPLES = 50_000

# scikit-learn's FastICA takes ``copy`` in transform and inverse_transform; nlica never
# writes into its input, so the flag only keeps the signature.
_copy_doc = fill_doc(
    {
        "copy": "copy : bool, default=True\n"
        "    Kept for scikit-learn compatibility; ``X`` is never modified."
    }
)


class FastICA(BaseICA):
    """FastICA: fast fixed-point independent component analysis.

    Same parameters, fitted attributes and conventions as
    :class:`sklearn.decomposition.FastICA`, with a numpy solver and a torch solver (CPU or
    GPU) written for speed; see the module notes. Computes in the input's float dtype
    (float64 by default, float32 when given float32).

    Parameters
    ----------
    n_components : int, default=None
        Number of components; ``None`` keeps all features. Ignored when ``whiten=False``.
    algorithm : {"parallel", "deflation"}, default="parallel"
        Estimate all components at once or one by one.
    whiten : {"unit-variance", "arbitrary-variance"} or False, default="unit-variance"
        ``"unit-variance"`` whitens and rescales the sources to unit variance;
        ``"arbitrary-variance"`` whitens without rescaling; ``False`` assumes ``X`` is
        already white (no centring).
    fun : {"logcosh", "exp", "cube"} or callable, default="logcosh"
        Contrast function (its derivative g). A callable ``fun(x, **fun_args)`` takes
        ``x`` of shape (n_components, n_samples) and returns ``g(x)`` and the mean of
        ``g'(x)`` over samples.
    fun_args : dict, default=None
        Arguments of ``fun``; ``{"alpha": 1.0}`` for logcosh.
    max_iter : int, default=200
        Maximum iterations on the full data (per component for deflation).
    tol : float, default=1e-4
        Convergence tolerance.
    w_init : array-like of shape (n_components, n_components), default=None
        Initial unmixing matrix; ``None`` draws a normal one from ``random_state``.
    whiten_solver : {"eigh", "svd"}, default="eigh"
        ``"eigh"`` whitens from the covariance matrix (one pass, fast when
        n_samples >> n_features); ``"svd"`` uses an SVD of the centred data (more accurate
        when the data are nearly rank deficient). scikit-learn's default is ``"svd"``.
    random_state : int, RandomState instance or None, default=None
        Seeds ``w_init`` and the subsample.
    backend : {"auto", "numpy", "torch"}, default="auto"
        ``"auto"`` uses torch when ``device`` resolves to a GPU and numpy otherwise.
    device : str, default="auto"
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; used by the torch backend.
    subsample : "auto", int or None, default="auto"
        Warm start on a random subsample of this many rows before iterating on all rows.
        ``"auto"`` uses ``max(20000, n_samples // 10)`` rows when ``n_samples >= 50000``;
        ``None`` turns it off. Iterations on the subsample are not counted in ``n_iter_``.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Unmixing matrix applied to centred data.
    mixing_ : ndarray of shape (n_features, n_components)
        Pseudo-inverse of ``components_``.
    n_components_ : int
        Number of components.
    mean_ : ndarray of shape (n_features,)
        Feature means (only when whitening).
    whitening_ : ndarray of shape (n_components, n_features)
        Pre-whitening matrix (only when whitening).
    n_iter_ : int
        Iterations on the full data (maximum over components for deflation).
    noise_variance_ : float
        Mean variance of the directions dropped by ``n_components`` (0 when none are); the
        isotropic noise model of :meth:`score` in those directions, as in PCA.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` has string column names.
    backend_ : str
        The backend used.
    device_ : torch.device
        The device used by the torch backend (CPU for numpy).

    See Also
    --------
    sklearn.decomposition.FastICA : The reference implementation.

    References
    ----------
    A. Hyvärinen and E. Oja, "Independent component analysis: algorithms and
    applications", Neural Networks 13(4-5), 2000.

    Examples
    --------
    >>> import numpy as np
    >>> from nlica import FastICA
    >>> from nlica.metrics import mean_corr_coef
    >>> rng = np.random.default_rng(0)
    >>> S = rng.laplace(size=(5000, 3))
    >>> X = S @ rng.uniform(-1, 1, size=(3, 3)).T
    >>> ica = FastICA(random_state=0)
    >>> S_est = ica.fit_transform(X)
    >>> mean_corr_coef(S, S_est) > 0.99
    True
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "algorithm": [StrOptions({"parallel", "deflation"})],
        "whiten": [StrOptions({"arbitrary-variance", "unit-variance"}), "boolean"],
        "fun": [StrOptions({"logcosh", "exp", "cube"}), callable],
        "fun_args": [dict, None],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0.0, None, closed="left")],
        "w_init": ["array-like", None],
        "whiten_solver": [StrOptions({"eigh", "svd"})],
        "random_state": ["random_state"],
        "backend": [StrOptions({"auto", "numpy", "torch"})],
        "device": [str, torch.device],
        "subsample": [
            StrOptions({"auto"}),
            Interval(numbers.Integral, 2, None, closed="left"),
            None,
        ],
    }

    def __init__(
        self,
        n_components=None,
        *,
        algorithm="parallel",
        whiten="unit-variance",
        fun="logcosh",
        fun_args=None,
        max_iter=200,
        tol=1e-4,
        w_init=None,
        whiten_solver="eigh",
        random_state=None,
        backend="auto",
        device="auto",
        subsample="auto",
    ):
        self._store_parameters(locals())

    # ----------------------------------------------------------------------------------
    def _resolve_backend(self):
        if self.backend == "numpy":
            # device is unused here, but a misspelt one ("tpu") is still an error.
            resolve_device(self.device, check_available=False)
            return "numpy", torch.device("cpu")
        device = resolve_device(self.device)
        if self.backend == "torch" or device.type == "cuda":
            return "torch", device
        return "numpy", torch.device("cpu")

    def _whiten(self, X, n_components, backend, device):
        """Centre and whiten.

        Returns ``(Z, K, mean, (d, u))`` with ``Z = (X - mean) K^T sqrt(n)`` and the
        singular values ``d`` and right singular vectors ``u`` of the centred data, which
        give the covariance of any linear projection without another pass over ``X``.
        """
        n_samples, n_features = X.shape
        dtype = X.dtype
        if backend == "torch":
            Xt = torch.tensor(X, device=device)  # a copy: never alias the caller's array
            mean_t = Xt.mean(0)
            Xt -= mean_t
            mean = mean_t.double().cpu().numpy()
            d, u = self._spectrum(Xt, n_components, backend, dtype)
            K = self._finish_whitener(d, u, n_components)
            Kt = torch.as_tensor(K.T * np.sqrt(n_samples), dtype=Xt.dtype, device=device)
            Z = Xt @ Kt
            return Z, K, mean, (d, u)
        mean = X.mean(axis=0, dtype=np.float64)
        Xc = X - mean.astype(dtype)
        d, u = self._spectrum(Xc, n_components, backend, dtype)
        K = self._finish_whitener(d, u, n_components)
        Z = Xc @ (K.T * np.sqrt(n_samples)).astype(dtype)
        return Z, K, mean, (d, u)

    def _raw_spectrum(self, Xc, backend):
        """Singular values (descending) and right singular vectors of centred data.

        Returns None when the products of ``Xc`` overflow in its dtype.
        """
        if self.whiten_solver == "eigh":
            # Wide data (more features than samples): the n_samples^2 Gram matrix instead
            # of the n_features^2 covariance, which may not even fit in memory.
            wide = Xc.shape[1] > Xc.shape[0]
            with np.errstate(over="ignore", invalid="ignore"):  # checked just below
                cov = Xc @ Xc.T if wide else Xc.T @ Xc
            cov = cov.double().cpu().numpy() if backend == "torch" else cov.astype(np.float64)
            if not np.all(np.isfinite(cov)):
                return None
            eig, u = linalg.eigh(cov)
            order = np.argsort(eig)[::-1]
            # Singular values of the centred data are the square roots of the eigenvalues.
            d, u = np.sqrt(np.clip(eig[order], 0.0, None)), u[:, order]
            if wide:
                # Right singular vectors from the left ones: Xc^T u_i / d_i (0 where d_i is).
                Xd = Xc.double().cpu().numpy() if backend == "torch" else Xc
                with np.errstate(over="ignore", invalid="ignore"):
                    u = Xd.T.astype(np.float64) @ u
                u /= np.where(d > 0, d, np.inf)
                if not np.all(np.isfinite(u)):
                    return None
            return d, u
        if backend == "torch":
            _, s, vt = torch.linalg.svd(Xc, full_matrices=False)
            d, u = s.double().cpu().numpy(), vt.double().cpu().numpy().T
        else:
            _, s, vt = linalg.svd(Xc, full_matrices=False, check_finite=False)
            d, u = s.astype(np.float64), vt.T.astype(np.float64)
        return (d, u) if np.all(np.isfinite(d)) else None

    def _spectrum(self, Xc, n_components, backend, dtype):
        """:meth:`_raw_spectrum`, safe for data near the limits of the dtype, rank-checked."""
        out = self._raw_spectrum(Xc, backend)
        finfo = np.finfo(dtype)
        # Products of values this small lose digits to underflow (float32: |x| < ~1e-16).
        small = np.sqrt(Xc.shape[0] * float(finfo.tiny) / float(finfo.eps))
        if out is None or (out[0].size and out[0][0] < small):
            # X @ X.T overflows or underflows in X's dtype (e.g. float32 data near 1e30 or
            # 1e-30): whiten a copy scaled by a power of two, which is exact, and put the
            # scale back into the singular values. Ordinary data never comes here.
            scale = _power_of_two_scale(Xc)
            if scale != 1.0:
                out = self._raw_spectrum(Xc * (1.0 / scale), backend)
                out = None if out is None else (out[0] * scale, out[1])
        if out is None:
            raise ValueError(
                f"X is too large to whiten in {np.dtype(dtype).name}: its covariance "
                "overflows even after rescaling; divide X by a constant first."
            )
        return self._check_rank(*out, n_components)

    @staticmethod
    def _check_rank(d, u, n_components):
        # u.shape[1]: the size of the matrix whose spectrum was computed (min(n, p)).
        tiny = d[0] * u.shape[1] * np.finfo(np.float32).eps if d.size and d[0] > 0 else 1.0
        rank = int(np.sum(d > tiny))
        if rank < n_components:
            raise ValueError(
                f"X has only {rank} linearly independent feature direction(s) after centring "
                f"(constant or duplicated channels?) but n_components={n_components}; "
                f"set n_components <= {rank} or remove the redundant channels."
            )
        return d, u

    @staticmethod
    def _finish_whitener(d, u, n_components):
        # Fix eigenvector signs as scikit-learn does, so results do not depend on LAPACK.
        u = u * _column_signs(u)
        return (u[:, :n_components] / d[:n_components]).T

    # ----------------------------------------------------------------------------------
    def _fit(self, X, compute_sources):
        X, n_components = self._validate_fit_data(X)
        n_samples, n_features = X.shape
        backend, device = self._resolve_backend()
        random_state = check_random_state(self.random_state)
        whiten = self.whiten
        if not whiten and self.n_components is not None:
            warnings.warn(
                "Ignoring n_components with whiten=False.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
            n_components = n_features
        if n_features > n_samples and not whiten:
            # White data has an identity covariance, so at least as many rows as columns;
            # and the unmixing would be n_features x n_features.
            raise ValueError(
                f"X has more features ({n_features}) than samples ({n_samples}), so it "
                "cannot be white as whiten=False assumes. FastICA reads rows as samples; if "
                "X is channels x times (as mne's get_data() returns), pass X.T, or whiten."
            )
        if n_features > n_samples:
            # Centring leaves at most n_samples - 1 independent directions; with fewer than
            # two the rank check below refuses X.
            cap = whiten and self.n_components is None and n_samples > 2
            # Legitimate for spatial ICA, but usually a recording passed channels-first.
            warnings.warn(
                f"X has more features ({n_features}) than samples ({n_samples}). FastICA "
                "reads rows as samples (time points for temporal ICA); if X is channels x "
                "times (as mne's get_data() returns), pass X.T."
                + (
                    f" Using n_components={min(n_components, n_samples - 1)}, the rank of "
                    "the centred data."
                    if cap
                    else ""
                ),
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
            if cap:
                n_components = min(n_components, n_samples - 1)
        if whiten and n_components > n_samples:
            n_components = min(n_components, n_samples)

        # Cheap checks of the other inputs before the pass over X.
        _check_alpha(self.fun, dict(self.fun_args or {}))
        if self.w_init is None:
            w_init = random_state.normal(size=(n_components, n_components))
        else:
            w_init = check_array_2d(self.w_init, name="w_init", allow_1d=False)
            if w_init.shape != (n_components, n_components):
                raise ValueError(
                    f"w_init has invalid shape {w_init.shape} -- should be "
                    f"{(n_components, n_components)} (n_components x n_components)."
                )

        if whiten:
            Z, K, mean, spectrum = self._whiten(X, n_components, backend, device)
        else:
            Z = torch.tensor(X, device=device) if backend == "torch" else X
            K = mean = spectrum = None

        kwargs = dict(
            algorithm=self.algorithm,
            fun=self.fun,
            fun_args=self.fun_args,
            tol=self.tol,
            backend=backend,
            device=device,
        )
        sub_rows = self._subsample_rows(n_samples)
        if sub_rows is not None:
            # Generator.choice draws without a full permutation (0.1 s vs 0.5 s at 10M rows).
            sub_rng = np.random.default_rng(random_state.randint(2**31 - 1))
            idx = np.sort(sub_rng.choice(n_samples, size=sub_rows, replace=False))
            Z_sub = Z[torch.as_tensor(idx, device=device)] if backend == "torch" else Z[idx]
            w_init, _, _ = fastica_solver(Z_sub, w_init, max_iter=self.max_iter, **kwargs)
        W, n_iter, converged = fastica_solver(Z, w_init, max_iter=self.max_iter, **kwargs)
        if not converged:
            warnings.warn(
                "FastICA did not converge. Consider increasing tolerance or the maximum "
                "number of iterations.",
                ConvergenceWarning,
                stacklevel=caller_stacklevel(),
            )
        if not np.all(np.isfinite(W)):
            raise ValueError(
                "FastICA produced a non-finite unmixing matrix; check X for extreme values "
                "or try fun='logcosh' with a smaller fun_args['alpha']."
            )
        del Z

        dtype = X.dtype
        if whiten:
            components = W @ K
            self.mean_ = mean.astype(dtype)
            self.whitening_ = K.astype(dtype)
        else:
            components = W
        S_std = np.ones(components.shape[0])
        self.noise_variance_ = 0.0
        if whiten:
            # std of each source from the data's spectrum: sum_i (c.u_i d_i)^2 / n equals
            # the empirical variance of X c, without another pass over X.
            d, u = spectrum
            S_std = np.sqrt(np.sum(((components @ u[:, : d.size]) * d) ** 2, axis=1) / n_samples)
            S_std[S_std == 0] = 1.0
            # Variance of the dropped directions, the noise model of score (as in PCA).
            if n_features > n_components:
                self.noise_variance_ = float(
                    np.sum(d[n_components:] ** 2) / n_samples / (n_features - n_components)
                )
        if whiten == "unit-variance":
            components = components / S_std[:, None]
            # scikit-learn's convention: the unmixing returned by fastica includes the scale.
            W = W / S_std[:, None]
            S_std = np.ones_like(S_std)
        self._source_std = S_std  # spread of the sources on the training data (score)
        self.components_ = components.astype(dtype)
        self.mixing_ = linalg.pinv(components, check_finite=False).astype(dtype)
        self._unmixing = W
        self.n_iter_ = int(n_iter)
        self.n_components_ = int(components.shape[0])
        self.backend_ = backend
        self.device_ = device
        # The same operations as transform, so fit_transform(X) equals transform(X) bit for
        # bit in float32 too.
        return self._apply(X) if compute_sources else None

    def _subsample_rows(self, n_samples):
        if self.subsample is None:
            return None
        if self.subsample == "auto":
            if n_samples < _SUBSAMPLE_MIN_SAMPLES:
                return None
            return max(20_000, n_samples // 10)
        return int(self.subsample) if self.subsample < n_samples else None

    # ----------------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Fit the model to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : FastICA
            The fitted estimator.
        """
        self._validate_params()
        self._fit(X, compute_sources=False)
        return self

    def fit_transform(self, X, y=None):
        """Fit the model and return the estimated sources.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; the sources of these rows are returned, from the same pass.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        S : ndarray of shape (n_samples, n_components)
            Estimated sources, in ``X``'s float dtype.
        """
        self._validate_params()
        return self._fit(X, compute_sources=True)

    @_copy_doc
    def transform(self, X, copy=True):
        """Recover the sources from ``X`` (apply the unmixing matrix).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to transform.
        <copy>

        Returns
        -------
        S : ndarray of shape (n_samples, n_components)
            Estimated sources.
        """
        return self._apply(self._validate_transform_data(X))

    def _apply(self, X):
        if self.whiten:
            X = X - self.mean_.astype(X.dtype)
        return X @ self.components_.T.astype(X.dtype)

    @_copy_doc
    def inverse_transform(self, X, copy=True):
        """Map sources back to the data space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Sources.
        <copy>

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Reconstructed data.
        """
        check_is_fitted(self)
        X = check_array_2d(X, name="X", dtype=[np.float64, np.float32], allow_1d=False)
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} features (sources) but this FastICA has "
                f"{self.n_components_} components; inverse_transform needs shape "
                f"(n_samples, {self.n_components_})."
            )
        X = X @ self.mixing_.T.astype(X.dtype)
        if self.whiten:
            X = X + self.mean_.astype(X.dtype)
        return X

    def score_samples(self, X):
        """Log-likelihood of each sample under the fitted ICA model.

        The sources are independent with the density that matches ``fun`` (``logcosh``:
        proportional to ``cosh(alpha s)^(-1/alpha)``; ``exp``: to
        ``exp(exp(-s^2/2) - s^2/2)``; ``cube``: to ``exp(-s^4/4)``), scaled to the
        sources' variance on the training data; ``x = mixing_ s + mean_``, plus isotropic
        Gaussian noise of variance ``noise_variance_`` in the directions dropped by
        ``n_components`` (as in probabilistic PCA).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            Log density of each sample (float64).

        Examples
        --------
        >>> import numpy as np
        >>> from nlica import FastICA
        >>> rng = np.random.default_rng(0)
        >>> X = rng.laplace(size=(1000, 2)) @ rng.normal(size=(2, 2))
        >>> FastICA(random_state=0).fit(X).score_samples(X[:3]).shape
        (3,)
        """
        check_is_fitted(self)
        if callable(self.fun):
            raise ValueError(
                "score needs the source density of the contrast; it is defined for fun in "
                "{'logcosh', 'exp', 'cube'}, not for a callable fun."
            )
        std = getattr(self, "_source_std", None)
        if std is None:
            raise ValueError("this FastICA was fitted by an nlica version without score; refit it.")
        X = self._validate_transform_data(X).astype(np.float64)
        C = self.components_.astype(np.float64)
        Xc = X - self.mean_.astype(np.float64) if self.whiten else X
        S = Xc @ C.T
        alpha = _check_alpha(self.fun, dict(self.fun_args or {}))
        logp = np.sum(_source_log_density(S / std, self.fun, alpha), axis=1)
        # Change of variables on the kept subspace: log of the product of C's singular
        # values, minus the log of each source's scale.
        logp += np.sum(np.log(linalg.svdvals(C))) - np.sum(np.log(std))
        n_rest = X.shape[1] - C.shape[0]
        if n_rest > 0:
            noise = max(self.noise_variance_, np.finfo(np.float64).tiny)
            R = Xc - S @ self.mixing_.T.astype(np.float64)
            logp -= 0.5 * n_rest * np.log(2.0 * np.pi * noise)
            logp -= 0.5 * np.sum(R * R, axis=1) / noise
        return logp

    def score(self, X, y=None):
        """Average log-likelihood per sample under the fitted ICA model.

        As :meth:`sklearn.decomposition.PCA.score`: higher is better, so held-out data
        can choose ``n_components`` or ``fun`` (for example with
        :func:`~sklearn.model_selection.cross_val_score`). See :meth:`score_samples`
        for the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            Mean log-likelihood per sample.

        Examples
        --------
        >>> import numpy as np
        >>> from nlica import FastICA
        >>> rng = np.random.default_rng(0)
        >>> X = rng.laplace(size=(4000, 3)) @ rng.normal(size=(3, 3))
        >>> ica = FastICA(random_state=0).fit(X[:2000])
        >>> bool(ica.score(X[2000:]) > FastICA(fun="cube", random_state=0).fit(
        ...     X[:2000]).score(X[2000:]))
        True
        """
        return float(np.mean(self.score_samples(X)))
