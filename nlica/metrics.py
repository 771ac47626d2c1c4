"""Scores for how well estimated sources recover the true ones.

ICA recovers sources only up to permutation, sign and scale (and, for nonlinear ICA, up to
a component-wise monotone transform), so every score here first matches estimated to true
components and then measures agreement in a way blind to those ambiguities.

- :func:`mean_corr_coef` -- the mean correlation coefficient (MCC) used by the TCL, PCL and
  SlowVAE papers: absolute correlations, optimal one-to-one matching.
- :func:`amari_distance` -- how far ``W @ A`` is from a scaled permutation (linear ICA).
- :func:`identifiability_report` -- the MCC plus, per matched pair, the sign, the scale and
  how much of the source a linear or a monotone function of the estimate explains.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata
from sklearn.isotonic import IsotonicRegression
from sklearn.utils import check_array

from .utils.validation import _as_array_like, _reject_bad_kind, check_finite

__all__ = [
    "IdentifiabilityReport",
    "amari_distance",
    "identifiability_report",
    "mean_corr_coef",
]

_METHODS = ("pearson", "spearman")

# Isotonic regression is O(n log n) but still the slow part of a report; beyond this many
# samples the nonlinear R² is computed on every k-th sample.
_MAX_ISOTONIC_SAMPLES = 20_000


def _as_float_array(X, name, *, ndim):
    """Convert ``X`` to a float64 array, with errors that name the argument.

    ``ndim=1`` means "sources": 1-D input is read as a single column. ``ndim=2`` means a
    matrix. The input is never modified; later code only makes new arrays from it.
    """
    X = _as_array_like(X, name)
    _reject_bad_kind(X, name)
    try:
        # Shape and finiteness are checked below, so the messages can name `name`.
        X = check_array(
            X,
            dtype=np.float64,
            ensure_2d=False,
            allow_nd=True,
            ensure_all_finite=False,
            ensure_min_samples=0,
            ensure_min_features=0,
            input_name=name,
        )
    except TypeError as exc:
        raise TypeError(f"{name} could not be converted to a float array: {exc}") from exc
    except ValueError as exc:
        raise ValueError(f"{name} could not be converted to a float array: {exc}") from exc
    if ndim == 1 and X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        expected = "a 1-D or 2-D array" if ndim == 1 else "a 2-D array"
        raise ValueError(f"{name} must be {expected}, got an array of shape {X.shape}.")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {X.shape}); at least 1 is needed.")
    check_finite(X, name)
    return X


def _check_sources(S_true, S_est):
    S_true = _as_float_array(S_true, "S_true", ndim=1)
    S_est = _as_float_array(S_est, "S_est", ndim=1)
    if S_true.shape[0] != S_est.shape[0]:
        raise ValueError(
            f"S_true has {S_true.shape[0]} samples but S_est has {S_est.shape[0]}; "
            "they must have the same number of rows."
        )
    if S_true.shape[0] < 2:
        raise ValueError(
            f"S_true and S_est have {S_true.shape[0]} sample(s); at least 2 are needed to "
            "compute a correlation."
        )
    return S_true, S_est


def _check_method(method):
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")


def _standardize(X):
    """Return unit-norm, zero-mean columns; constant columns become all zeros."""
    # Exact test for constant columns: a column of equal values can leave rounding noise
    # after centring, which would otherwise normalise into a spurious correlation.
    constant = np.ptp(X, axis=0) == 0
    # Dividing by the largest magnitude first keeps the sums of squares from overflowing.
    scale = np.max(np.abs(X), axis=0)
    scale[constant] = 1.0
    Z = X / scale
    Z = Z - Z.mean(axis=0)
    norm = np.linalg.norm(Z, axis=0)
    norm[constant | (norm == 0)] = 1.0
    Z = Z / norm
    Z[:, constant] = 0.0
    return Z


def _correlation_matrix(S_true, S_est, method):
    """Signed correlations, shape ``(k1, k2)``; 0 wherever a column is constant."""
    if method == "spearman":
        # Spearman's rho is Pearson's r on ranks (ties get their average rank).
        S_true = rankdata(S_true, axis=0)
        S_est = rankdata(S_est, axis=0)
    corr = _standardize(S_true).T @ _standardize(S_est)
    return np.clip(corr, -1.0, 1.0)


def _match(S_true, S_est, method):
    """Correlations and the optimal matching as ``(corr, rows, cols)``."""
    corr = _correlation_matrix(S_true, S_est, method)
    # Rows come back sorted, so the pairs are ordered by true index.
    rows, cols = linear_sum_assignment(np.abs(corr), maximize=True)
    return corr, rows, cols


def mean_corr_coef(S_true, S_est, *, method="pearson", return_matching=False):
    """Mean absolute correlation between true and estimated sources after optimal matching.

    Each true component is paired with at most one estimated component so that the sum of
    absolute correlations over the pairs is largest (the Hungarian algorithm,
    :func:`scipy.optimize.linear_sum_assignment`); the MCC is the mean over the pairs. It is
    therefore blind to the order, sign and scale of the estimated components, and with
    ``method="spearman"`` also to any strictly monotone transform of each of them.

    Parameters
    ----------
    S_true : array-like of shape (n_samples, k1) or (n_samples,)
        True sources, one per column. A 1-D array is one source.
    S_est : array-like of shape (n_samples, k2) or (n_samples,)
        Estimated sources, one per column, for the same samples. ``k2`` may differ from
        ``k1``: ``min(k1, k2)`` pairs are matched and the other columns are left out.
    method : {"pearson", "spearman"}, default="pearson"
        Correlation coefficient. ``"spearman"`` is Pearson's on the column ranks
        (:func:`scipy.stats.rankdata`, ties averaged).
    return_matching : bool, default=False
        If True, also return the matched pairs.

    Returns
    -------
    mcc : float
        Mean absolute correlation over the matched pairs, in ``[0, 1]``; 1 means every
        matched estimate is an exact (linear, or monotone for Spearman) copy of its source.
        A constant column has correlation 0 with every other column.
    matching : ndarray of shape (min(k1, k2), 2), dtype int
        Only if ``return_matching`` is True. Rows of ``(true_index, est_index)``, sorted by
        true index.

    Raises
    ------
    ValueError
        If the inputs are not 1-D or 2-D, have different numbers of samples or fewer than
        2, contain NaN or infinity, or ``method`` is unknown.

    See Also
    --------
    identifiability_report : The MCC with per-pair signs, scales and R² values.

    Notes
    -----
    This is the MCC of Hyvärinen & Morioka (TCL, PCL) and Klindt et al. (SlowVAE); the
    papers differ in the coefficient (Pearson or Spearman), so report ``method`` with it.

    Examples
    --------
    >>> import numpy as np
    >>> from nlica.metrics import mean_corr_coef
    >>> rng = np.random.default_rng(0)
    >>> S = rng.laplace(size=(1000, 3))
    >>> S_est = S[:, [2, 0, 1]] * [-2.0, 0.5, 3.0]   # permuted, rescaled, one sign flipped
    >>> round(mean_corr_coef(S, S_est), 6)
    1.0
    >>> mcc, matching = mean_corr_coef(S, S_est, return_matching=True)
    >>> matching
    array([[0, 1],
           [1, 2],
           [2, 0]])
    >>> round(mean_corr_coef(S, np.exp(S), method="spearman"), 6)
    1.0
    """
    _check_method(method)
    S_true, S_est = _check_sources(S_true, S_est)
    corr, rows, cols = _match(S_true, S_est, method)
    mcc = float(np.clip(np.abs(corr[rows, cols]).mean(), 0.0, 1.0))
    if return_matching:
        return mcc, np.column_stack([rows, cols]).astype(np.intp)
    return mcc


def amari_distance(W, A):
    r"""Amari distance between an unmixing matrix and the true mixing matrix.

    With ``P = W @ A`` (``n x n``), the distance is

    .. math::

        d = \frac{1}{2n(n-1)} \left[\sum_i \left(\frac{\sum_j |p_{ij}|}
        {\max_k |p_{ik}|} - 1\right) + \sum_j \left(\frac{\sum_i |p_{ij}|}
        {\max_k |p_{kj}|} - 1\right)\right].

    It is 0 exactly when ``P`` is a permutation matrix times a diagonal matrix, i.e. when
    ``W`` unmixes perfectly up to order, sign and scale, and at most 1, reached when every
    entry of ``P`` has the same magnitude.

    Parameters
    ----------
    W : array-like of shape (k, n)
        Estimated unmixing matrix (e.g. ``FastICA().components_``).
    A : array-like of shape (n, k)
        True mixing matrix, so that ``X = S @ A.T``.

    Returns
    -------
    distance : float
        Amari distance in ``[0, 1]``. For ``k == 1`` it is 0.0 (a nonzero 1 x 1 ``P`` is
        always a scaled permutation; the formula's denominator would be 0).

    Raises
    ------
    ValueError
        If ``W`` or ``A`` is not 2-D or not finite, if ``W @ A`` is undefined or not square,
        or if ``W @ A`` has an all-zero row or column (the distance is then undefined).

    Notes
    -----
    The normalisation by ``2n(n-1)`` follows Amari, Cichocki & Yang (1996) as used in the
    ICA literature, so that distances compare across dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> from nlica.metrics import amari_distance
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> W = np.array([[0.0, 5.0], [-1.0, 0.0]]) @ np.linalg.inv(A)  # scaled permutation
    >>> round(amari_distance(W, A), 6)
    0.0
    >>> amari_distance(np.ones((3, 3)), np.eye(3))  # all entries equally large: worst case
    1.0
    """
    W = _as_float_array(W, "W", ndim=2)
    A = _as_float_array(A, "A", ndim=2)
    if W.shape[1] != A.shape[0]:
        raise ValueError(
            f"W has {W.shape[1]} columns but A has {A.shape[0]} rows; W @ A is undefined "
            f"(W has shape {W.shape}, A has shape {A.shape})."
        )
    if W.shape[0] != A.shape[1]:
        raise ValueError(
            f"W @ A must be square, but W has shape {W.shape} and A has shape {A.shape}, "
            f"so W @ A has shape {(W.shape[0], A.shape[1])}."
        )
    with np.errstate(over="ignore", invalid="ignore"):  # overflow gets its own error below
        P = np.abs(W @ A)
    if not np.isfinite(P).all():
        raise ValueError("W @ A overflows to infinity; rescale W or A.")
    zero_rows = np.flatnonzero(P.max(axis=1) == 0)
    zero_cols = np.flatnonzero(P.max(axis=0) == 0)
    if zero_rows.size or zero_cols.size:
        raise ValueError(
            f"W @ A has all-zero rows {zero_rows.tolist()} and columns "
            f"{zero_cols.tolist()}; the Amari distance is undefined for a singular product "
            "with a zero row or column."
        )
    n = P.shape[0]
    if n == 1:
        return 0.0
    rows = (P.sum(axis=1) / P.max(axis=1) - 1.0).sum()
    cols = (P.sum(axis=0) / P.max(axis=0) - 1.0).sum()
    # Rounding could push the ratio a hair past its bounds.
    return float(np.clip((rows + cols) / (2.0 * n * (n - 1)), 0.0, 1.0))


@dataclass(frozen=True, eq=False)
class IdentifiabilityReport:
    """Per-component agreement between true and estimated sources.

    Built by :func:`identifiability_report`; read its fields, print it for a table, or
    call :meth:`to_dict` for JSON. Arrays have one entry per matched pair, in the order of
    ``matching`` (sorted by true index).

    Parameters
    ----------
    mcc : float
        Mean absolute correlation over the matched pairs (see :func:`mean_corr_coef`).
    method : str
        Correlation used for ``mcc``, ``correlations`` and the matching:
        ``"pearson"`` or ``"spearman"``.
    matching : ndarray of shape (k, 2), dtype int
        ``(true_index, est_index)`` pairs, ``k = min(n_true, n_est)``.
    correlations : ndarray of shape (k,)
        Signed correlation (of type ``method``) of each pair.
    signs : ndarray of shape (k,)
        ``+1.0`` or ``-1.0``: the sign of ``correlations`` (``+1`` where it is 0).
    scales : ndarray of shape (k,)
        Factor mapping the estimate onto the source, ``sign(r) * std(source) /
        std(estimate)`` with ``r`` the Pearson correlation: the geometric-mean (reduced
        major axis) regression slope, equal to the least-squares slope when ``|r| = 1`` and
        to it divided by ``|r|`` otherwise. 0 where the estimate is constant; clipped to
        the float64 range where the ratio of scales exceeds it.
    r2_linear : ndarray of shape (k,)
        R² of the least-squares line predicting the source from the estimate (``r**2``
        with Pearson's ``r``).
    r2_nonlinear : ndarray of shape (k,)
        R² of the best monotone (isotonic, increasing or decreasing) function predicting
        the source from the estimate, in-sample. Near 1 when the estimate is the source up
        to a monotone transform; at least ``r2_linear`` when computed on all samples.
    n_true : int
        Number of true components.
    n_est : int
        Number of estimated components.

    Examples
    --------
    >>> import numpy as np
    >>> from nlica.metrics import identifiability_report
    >>> rng = np.random.default_rng(0)
    >>> S = rng.laplace(size=(500, 2))
    >>> report = identifiability_report(S, -3.0 * S[:, ::-1])
    >>> report.matching.tolist(), report.signs.tolist(), report.scales.round(3).tolist()
    ([[0, 1], [1, 0]], [-1.0, -1.0], [-0.333, -0.333])
    """

    mcc: float
    method: str
    matching: np.ndarray
    correlations: np.ndarray
    signs: np.ndarray
    scales: np.ndarray
    r2_linear: np.ndarray
    r2_nonlinear: np.ndarray
    n_true: int
    n_est: int

    def __str__(self):
        """Return a table with one row per true component and the MCC with its rule."""
        header = (
            f"{'true':>4}  {'est':>4}  {'corr':>7}  {'sign':>4}  {'scale':>10}  "
            f"{'R2 lin':>7}  {'R2 nonlin':>9}"
        )
        lines = [
            f"Identifiability report: {self.n_true} true vs {self.n_est} estimated "
            f"components ({self.method} correlation)",
            header,
            "-" * len(header),
        ]
        by_true = {int(t): p for p, t in enumerate(self.matching[:, 0])}
        for t in range(self.n_true):
            if t not in by_true:
                lines.append(f"{t:>4}  {'-':>4}  (unmatched: fewer estimated components)")
                continue
            p = by_true[t]
            lines.append(
                f"{t:>4}  {int(self.matching[p, 1]):>4}  {self.correlations[p]:>7.3f}  "
                f"{int(self.signs[p]):>+4d}  {self.scales[p]:>10.4g}  "
                f"{self.r2_linear[p]:>7.3f}  {self.r2_nonlinear[p]:>9.3f}"
            )
        k = len(self.matching)
        lines.append(
            f"MCC ({self.method}) = {self.mcc:.3f}  "
            f"[mean |corr| over {k} pair(s) matched by linear_sum_assignment]"
        )
        return "\n".join(lines)

    def to_dict(self):
        """Return the report as plain Python types, ready for :func:`json.dumps`.

        Returns
        -------
        report : dict
            Keys are the field names; arrays become (nested) lists of ``float`` or
            ``int``.

        Examples
        --------
        >>> import json
        >>> import numpy as np
        >>> from nlica.metrics import identifiability_report
        >>> S = np.random.default_rng(0).normal(size=(100, 2))
        >>> d = identifiability_report(S, S).to_dict()
        >>> d["matching"], d["method"]
        ([[0, 0], [1, 1]], 'pearson')
        >>> text = json.dumps(d)
        """
        return {
            "mcc": float(self.mcc),
            "method": str(self.method),
            "matching": [[int(t), int(e)] for t, e in self.matching],
            "correlations": [float(v) for v in self.correlations],
            "signs": [float(v) for v in self.signs],
            "scales": [float(v) for v in self.scales],
            "r2_linear": [float(v) for v in self.r2_linear],
            "r2_nonlinear": [float(v) for v in self.r2_nonlinear],
            "n_true": int(self.n_true),
            "n_est": int(self.n_est),
        }


def _max_abs(X):
    """Largest magnitude of each column, 1 where a column is all zeros."""
    top = np.max(np.abs(X), axis=0) if X.shape[0] else np.ones(X.shape[1:])
    return np.where(top > 0, top, 1.0)


def _std_ratio(A, B):
    """``A.std(axis=0) / B.std(axis=0)`` without overflow or underflow of the squares.

    Each column is divided by its largest magnitude first (1e200 squared is infinite);
    a ratio beyond the float64 range is clipped to it.
    """
    a, b = _max_abs(A), _max_abs(B)
    with np.errstate(over="ignore"):
        ratio = (a / b) * ((A / a).std(axis=0) / (B / b).std(axis=0))
    big = np.finfo(np.float64).max
    return np.clip(ratio, -big, big)


def _r2_monotone(x, y):
    """In-sample R² of the best isotonic fit of ``y`` on ``x``, either direction."""
    # R² does not change with the scale of y (nor the order-preserving scale of x); unit
    # scales keep the sums of squares from overflowing or underflowing.
    x = x / _max_abs(x[:, None])[0]
    y = y / _max_abs(y[:, None])[0]
    ss_tot = np.sum((y - y.mean()) ** 2)
    if ss_tot == 0 or np.ptp(x) == 0:
        return 0.0
    # Fitting both directions and keeping the better one avoids the warning-prone
    # direction guess of increasing="auto" and gives the best monotone fit by definition.
    best = np.inf
    for increasing in (True, False):
        fit = IsotonicRegression(increasing=increasing).fit_transform(x, y)
        best = min(best, np.sum((y - fit) ** 2))
    return float(np.clip(1.0 - best / ss_tot, 0.0, 1.0))


def identifiability_report(S_true, S_est, *, method="pearson"):
    """Match estimated to true sources and describe each pair.

    Matches components as :func:`mean_corr_coef` does, then reports per pair the signed
    correlation, the sign and scale ambiguity that was resolved, and how much of the source
    a linear (``r2_linear``) and a monotone (``r2_nonlinear``) function of the estimate
    explains. A large gap between the two means the estimate recovers its source only up to
    a nonlinear monotone transform, as nonlinear ICA promises at best.

    Parameters
    ----------
    S_true : array-like of shape (n_samples, k1) or (n_samples,)
        True sources, one per column.
    S_est : array-like of shape (n_samples, k2) or (n_samples,)
        Estimated sources for the same samples; ``k2`` may differ from ``k1``.
    method : {"pearson", "spearman"}, default="pearson"
        Correlation used for matching, ``mcc`` and ``correlations``.

    Returns
    -------
    report : IdentifiabilityReport
        Printable, with arrays in the order of ``report.matching``.

    Raises
    ------
    ValueError
        On the same inputs as :func:`mean_corr_coef`.

    See Also
    --------
    mean_corr_coef : The MCC alone.

    Notes
    -----
    ``r2_nonlinear`` uses :class:`sklearn.isotonic.IsotonicRegression` from the estimate to
    the source, fitted in both directions (keeping the better), and is measured in-sample,
    so it is slightly optimistic: an unrelated estimate scores a small positive value that
    shrinks as ``n_samples`` grows. Above 20 000 samples it is computed on every k-th
    sample (``k = ceil(n_samples / 20000)``), deterministically. Constant columns score 0
    in every field except ``signs`` (+1).

    Examples
    --------
    >>> import numpy as np
    >>> from nlica.metrics import identifiability_report
    >>> rng = np.random.default_rng(0)
    >>> S = rng.laplace(size=(2000, 2))
    >>> report = identifiability_report(S, np.cbrt(S[:, ::-1]))   # monotone, nonlinear
    >>> print(report.r2_nonlinear.round(3), report.r2_linear.round(3))
    [1. 1.] [0.786 0.776]
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
    Identifiability report: 2 true vs 2 estimated components (pearson correlation)
    true   est     corr  sign       scale   R2 lin  R2 nonlin
    ---------------------------------------------------------
       0     1    0.887    +1       1.481    0.786      1.000
       1     0    0.881    +1       1.517    0.776      1.000
    MCC (pearson) = 0.884  [mean |corr| over 2 pair(s) matched by linear_sum_assignment]
    """
    _check_method(method)
    S_true, S_est = _check_sources(S_true, S_est)
    corr, rows, cols = _match(S_true, S_est, method)
    correlations = corr[rows, cols]
    mcc = float(np.clip(np.abs(correlations).mean(), 0.0, 1.0))
    signs = np.where(correlations < 0, -1.0, 1.0)

    source, estimate = S_true[:, rows], S_est[:, cols]
    pearson = np.sum(_standardize(source) * _standardize(estimate), axis=0)
    pearson = np.clip(pearson, -1.0, 1.0)
    constant_est = np.ptp(estimate, axis=0) == 0
    # Sign 0 (an uncorrelated pair) would zero the scale; keep the magnitude instead.
    pearson_sign = np.where(pearson < 0, -1.0, 1.0)
    scales = np.zeros(len(rows))
    keep = ~constant_est
    scales[keep] = pearson_sign[keep] * _std_ratio(source[:, keep], estimate[:, keep])
    r2_linear = pearson**2

    step = -(-S_true.shape[0] // _MAX_ISOTONIC_SAMPLES)  # ceil division
    r2_nonlinear = np.array(
        [_r2_monotone(estimate[::step, p], source[::step, p]) for p in range(len(rows))]
    )
    return IdentifiabilityReport(
        mcc=mcc,
        method=method,
        matching=np.column_stack([rows, cols]).astype(np.intp),
        correlations=correlations,
        signs=signs,
        scales=scales,
        r2_linear=r2_linear,
        r2_nonlinear=r2_nonlinear,
        n_true=S_true.shape[1],
        n_est=S_est.shape[1],
    )
