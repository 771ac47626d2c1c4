"""The FastICA fixed-point kernels: contrast functions, fused passes and the iteration.

Plain numpy/torch functions with no estimator logic; :class:`nlica.FastICA` whitens,
validates and calls :func:`fastica_solver`, and scores with the contrasts' densities.
"""

import functools
import numbers
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from scipy import linalg
from scipy.integrate import quad
from threadpoolctl import threadpool_limits

__all__ = ["fastica_solver"]

# Rows per block in the numpy pass: a block of projections stays in L2 cache.
_BLOCK_ROWS = 4096


# --------------------------------------------------------------------------------------
# Contrast functions. Each returns g(y) in place of y and the mean of g'(y) per component.
# y has shape (n_rows, n_components): components in columns.
# --------------------------------------------------------------------------------------
def _logcosh_np(y, alpha):
    if alpha != 1.0:
        y *= alpha
    np.tanh(y, out=y)
    # g'(y) = alpha (1 - tanh^2): sum of squares by einsum avoids a temporary.
    sq = np.einsum("ij,ij->j", y, y)
    return alpha * (y.shape[0] - sq)


def _exp_np(y, alpha):
    y2 = np.square(y)
    e = np.exp(-0.5 * y2)
    dsum = np.einsum("ij,ij->j", 1.0 - y2, e)
    y *= e
    return dsum


def _cube_np(y, alpha):
    dsum = 3.0 * np.einsum("ij,ij->j", y, y)
    y *= np.square(y)
    return dsum


_NP_FUNS = {"logcosh": _logcosh_np, "exp": _exp_np, "cube": _cube_np}


def _logcosh_torch(y, alpha):
    if alpha != 1.0:
        y.mul_(alpha)
    y.tanh_()
    return alpha * (y.shape[0] - (y * y).sum(0))


def _exp_torch(y, alpha):
    y2 = y * y
    e = torch.exp(-0.5 * y2)
    dsum = ((1.0 - y2) * e).sum(0)
    y.mul_(e)
    return dsum


def _cube_torch(y, alpha):
    y2 = y * y
    dsum = 3.0 * y2.sum(0)
    y.mul_(y2)
    return dsum


_TORCH_FUNS = {"logcosh": _logcosh_torch, "exp": _exp_torch, "cube": _cube_torch}


def _callable_step(fun, fun_args, Z, W):
    # User contrast in scikit-learn's convention: fun(x) with x (n_components, n_samples)
    # returns g(x) and the per-component mean of g'(x).
    y = W @ Z.T
    gx, g_x = fun(y, **fun_args)
    gx = np.asarray(gx)
    g_x = np.asarray(g_x).reshape(-1)
    return gx @ Z / Z.shape[0], g_x


class _NumpyPass:
    """One fused pass E[g(Wz) z^T], E[g'(Wz)] over whitened data in blocks and threads."""

    def __init__(self, Z, fun, alpha, n_threads):
        self.Z = Z
        self.fun = fun
        self.alpha = alpha
        n = Z.shape[0]
        # Contiguous row ranges, one list per thread, so each thread walks its own memory.
        bounds = np.linspace(0, n, max(1, min(n_threads, n // _BLOCK_ROWS)) + 1).astype(int)
        self.ranges = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        self.pool = ThreadPoolExecutor(len(self.ranges)) if len(self.ranges) > 1 else None

    def _partial(self, W, start, stop):
        k = W.shape[0]
        acc = np.zeros((k, self.Z.shape[1]), dtype=np.float64)
        dsum = np.zeros(k, dtype=np.float64)
        Wt = W.T.astype(self.Z.dtype)
        for a in range(start, stop, _BLOCK_ROWS):
            block = self.Z[a : min(a + _BLOCK_ROWS, stop)]
            y = block @ Wt
            dsum += self.fun(y, self.alpha)
            acc += y.T @ block
        return acc, dsum

    def __call__(self, W):
        if self.pool is None:
            acc, dsum = self._partial(W, 0, self.Z.shape[0])
        else:
            parts = list(self.pool.map(lambda r: self._partial(W, *r), self.ranges))
            acc = sum(p[0] for p in parts)
            dsum = sum(p[1] for p in parts)
        n = self.Z.shape[0]
        return acc / n, dsum / n

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()


class _TorchPass:
    """The same pass with torch kernels on a CPU or a GPU; only k x k results reach numpy."""

    def __init__(self, Z, fun, alpha, device):
        self.Z = Z  # a torch tensor on ``device``
        self.fun = fun
        self.alpha = alpha
        self.device = device
        n, k = Z.shape
        # Bound the projection buffer to about 2**27 entries (512 MB in float32).
        self.block = max(1, min(n, (1 << 27) // max(k, 1)))

    def __call__(self, W):
        Wt = torch.as_tensor(W.T, dtype=self.Z.dtype, device=self.device)
        n = self.Z.shape[0]
        acc = torch.zeros((W.shape[0], self.Z.shape[1]), dtype=self.Z.dtype, device=self.device)
        dsum = torch.zeros(W.shape[0], dtype=self.Z.dtype, device=self.device)
        for a in range(0, n, self.block):
            block = self.Z[a : a + self.block]
            y = block @ Wt
            dsum += self.fun(y, self.alpha)
            acc += y.T @ block
        return acc.double().cpu().numpy() / n, dsum.double().cpu().numpy() / n

    def close(self):
        pass


def _power_of_two_scale(Xc):
    """Return the power of two nearest the largest magnitude of ``Xc`` (1.0 if none)."""
    if isinstance(Xc, torch.Tensor):
        top = float(Xc.abs().max()) if Xc.numel() else 0.0
    else:
        top = float(max(abs(Xc.max()), abs(Xc.min()))) if Xc.size else 0.0
    if top == 0.0 or not np.isfinite(top):
        return 1.0
    return float(2.0 ** np.round(np.log2(top)))


def _sym_decorrelation(W):
    """Symmetric decorrelation W <- (W W^T)^{-1/2} W."""
    s, u = linalg.eigh(W @ W.T)
    s = np.clip(s, a_min=np.finfo(W.dtype).tiny, a_max=None)
    return np.linalg.multi_dot([u * (1.0 / np.sqrt(s)), u.T, W])


def _gs_decorrelation(w, W, j):
    """Gram-Schmidt: remove from w its projections on the first j rows of W."""
    w -= np.linalg.multi_dot([w, W[:j].T, W[:j]])
    return w


def _ica_par(step, w_init, tol, max_iter):
    W = _sym_decorrelation(w_init)
    for ii in range(max_iter):
        gz, gprime = step(W)
        W1 = _sym_decorrelation(gz - gprime[:, None] * W)
        # Converged when each new row is parallel to the old one.
        lim = np.max(np.abs(np.abs(np.einsum("ij,ij->i", W1, W)) - 1.0))
        W = W1
        if lim < tol:
            return W, ii + 1, True
    return W, max_iter, False


def _ica_def(step, w_init, tol, max_iter):
    k = w_init.shape[0]
    W = np.zeros((k, k), dtype=np.float64)
    n_iter = []
    converged = True
    for j in range(k):
        w = w_init[j].astype(np.float64, copy=True)
        w /= np.sqrt((w**2).sum())
        iters = 0
        while iters < max_iter:
            gz, gprime = step(w[None, :])
            w1 = gz[0] - gprime[0] * w
            _gs_decorrelation(w1, W, j)
            w1 /= np.sqrt((w1**2).sum())
            lim = np.abs(np.abs((w1 * w).sum()) - 1.0)
            w = w1
            iters += 1
            if lim < tol:
                break
        else:
            converged = False
        n_iter.append(iters)
        W[j] = w
    return W, max(n_iter), converged


def _check_alpha(fun, fun_args):
    """Return ``fun_args["alpha"]`` (default 1.0) as a float; only built-in contrasts use it."""
    alpha = fun_args.get("alpha", 1.0)
    if callable(fun):
        return 1.0  # a user contrast receives fun_args as they are
    if (
        isinstance(alpha, bool)
        or not isinstance(alpha, numbers.Real)
        or not np.isfinite(alpha)
        or alpha <= 0
    ):
        # NaN here would turn every unmixing row into NaN a few iterations later.
        raise ValueError(
            "fun_args['alpha'] must be a finite number > 0 (scikit-learn's FastICA says alpha "
            f"must be in [1,2], the usual range for logcosh); got {alpha!r}."
        )
    return float(alpha)


def fastica_solver(
    Z,
    w_init,
    *,
    algorithm="parallel",
    fun="logcosh",
    fun_args=None,
    max_iter=200,
    tol=1e-4,
    backend="numpy",
    device="cpu",
    n_threads=None,
):
    """Run the FastICA fixed-point iteration on whitened data.

    Parameters
    ----------
    Z : ndarray or torch.Tensor of shape (n_samples, n_components)
        Whitened data (identity covariance), rows are samples. A tensor is used with the
        torch backend on its own device.
    w_init : ndarray of shape (n_components, n_components)
        Initial unmixing matrix.
    algorithm : {"parallel", "deflation"}, default="parallel"
        Symmetric (all components at once) or one-by-one estimation.
    fun : {"logcosh", "exp", "cube"} or callable, default="logcosh"
        Contrast function; a callable follows scikit-learn's convention
        ``fun(x, **fun_args) -> (g(x), mean g'(x))`` with ``x`` of shape
        (n_components, n_samples).
    fun_args : dict, default=None
        Extra arguments for ``fun`` (``alpha`` for logcosh, in [1, 2]).
    max_iter : int, default=200
        Maximum number of iterations (per component for deflation).
    tol : float, default=1e-4
        Convergence tolerance on the change of the unmixing rows.
    backend : {"numpy", "torch"}, default="numpy"
        Which library computes the passes over the data.
    device : str or torch.device, default="cpu"
        Device of the torch backend.
    n_threads : int, default=None
        Threads of the numpy backend; ``None`` uses the available cores.

    Returns
    -------
    W : ndarray of shape (n_components, n_components)
        The unmixing matrix for the whitened data (float64).
    n_iter : int
        Number of iterations run.
    converged : bool
        Whether ``tol`` was reached within ``max_iter``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> S = rng.laplace(size=(2000, 2))
    >>> Z = (S - S.mean(0)) / S.std(0)
    >>> W, n_iter, ok = fastica_solver(Z, np.eye(2))
    >>> bool(ok)
    True
    """
    fun_args = {} if fun_args is None else dict(fun_args)
    alpha = _check_alpha(fun, fun_args)
    if callable(fun):
        Zn = Z.cpu().numpy() if isinstance(Z, torch.Tensor) else Z

        def step(W):
            return _callable_step(fun, fun_args, Zn, W)

        closer = None
    elif backend == "torch":
        step = closer = _TorchPass(Z, _TORCH_FUNS[fun], alpha, torch.device(device))
    else:
        if n_threads is None:
            n_threads = (
                len(os.sched_getaffinity(0))
                if hasattr(os, "sched_getaffinity")
                else (os.cpu_count() or 1)
            )
        step = closer = _NumpyPass(Z, _NP_FUNS[fun], alpha, n_threads)
    solve = _ica_par if algorithm == "parallel" else _ica_def
    threaded = isinstance(step, _NumpyPass) and step.pool is not None
    try:
        if not threaded:
            return solve(step, np.asarray(w_init, dtype=np.float64), tol, max_iter)
        # One BLAS thread per worker: our own threads already use every core.
        with threadpool_limits(limits=1, user_api="blas"):
            return solve(step, np.asarray(w_init, dtype=np.float64), tol, max_iter)
    finally:
        if closer is not None:
            closer.close()


# --------------------------------------------------------------------------------------
# The source densities that match the contrasts (FastICA.score)
# --------------------------------------------------------------------------------------
def _logcosh_abs(y, alpha):
    """Return log cosh(alpha y) / alpha, stable for large |y|."""
    a = np.abs(alpha * y)
    return (a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)) / alpha


def _unnormalised_log_density(fun, alpha):
    # The source density whose maximum likelihood matches the contrast: -G for the
    # super-Gaussian contrasts (a Gaussian factor makes exp's integrable, which the
    # unit-variance constraint of FastICA ignores), exp(-y^4/4) for the kurtosis one.
    if fun == "logcosh":
        return lambda y: -_logcosh_abs(y, alpha)
    if fun == "exp":
        return lambda y: np.exp(-0.5 * y * y) - 0.5 * y * y
    return lambda y: -0.25 * y**4


@functools.lru_cache(maxsize=32)
def _density_constants(fun, alpha):
    """(log normaliser, scale c) of the unit-variance density c q(c s) of ``fun``."""
    logq = _unnormalised_log_density(fun, alpha)
    mass = 2.0 * quad(lambda y: np.exp(logq(y)), 0.0, np.inf)[0]
    second = 2.0 * quad(lambda y: y * y * np.exp(logq(y)), 0.0, np.inf)[0] / mass
    return float(np.log(mass)), float(np.sqrt(second))


def _source_log_density(S, fun, alpha):
    """Log density of unit-variance sources under the model that matches ``fun``."""
    log_mass, c = _density_constants(fun, float(alpha))
    return _unnormalised_log_density(fun, alpha)(c * S) - log_mass + np.log(c)
