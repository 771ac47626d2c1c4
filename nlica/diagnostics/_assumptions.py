"""check_assumptions: whether each estimator's identifiability assumption holds on X."""

import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from sklearn.utils import check_random_state

from .._fastica import FastICA
from ..samplers import cut_segments
from ..utils.validation import check_array_2d, check_groups, check_labels, segment_runs
from ._common import _auto_segment_length, _check_int, _standardise

_METHODS = ("fastica", "tcl", "pcl", "slowvae")
_ASSUMPTIONS = {
    "fastica": "at most one Gaussian source",
    "tcl": "source distribution changes across segments",
    "pcl": "temporal dependence at lag",
    "slowvae": "slow, sparse (heavy-tailed) transitions",
}
# Whitened directions kept by the moment statistics: enough to see any source of a
# 5-20 channel recording, few enough that products of pairs stay cheap on 64 channels.
_MAX_DIMS = 8
# E[log cosh(g)] for g ~ N(0, 1): the reference of the negentropy approximation.
_GAUSS_LOGCOSH = 0.3745672075
# SlowVAE: the transitions count as heavy-tailed when the kurtosis ratio exceeds 1 by this
# margin; a smooth nonlinear mixing of Gaussian transitions moves it slightly above 1.
_SLOW_MARGIN = 0.1
# Contiguous batches for the jackknife standard error of the kurtosis ratio.
_JACKKNIFE_BATCHES = 32


# ------------------------------------------------------------------------------------------
# helpers of the four tests
# ------------------------------------------------------------------------------------------
def _whiten(X, max_dims=_MAX_DIMS):
    """Centre X and return its leading principal components scaled to unit variance."""
    Xc = X - X.mean(axis=0)
    cov = Xc.T @ Xc / Xc.shape[0]
    eig, vec = np.linalg.eigh(cov)
    order = np.argsort(eig)[::-1]
    eig, vec = eig[order], vec[:, order]
    keep = eig > eig[0] * 1e-10 if eig[0] > 0 else np.zeros_like(eig, dtype=bool)
    k = int(min(max_dims, keep.sum()))
    if k == 0:
        raise ValueError("X is constant: there is nothing to test.")
    return Xc @ (vec[:, :k] / np.sqrt(eig[:k]))


def _pair_index(runs, lag):
    """Return the times t with x_t and x_{t-lag} in the same recording."""
    t = np.arange(lag, runs.shape[0])
    return t[runs[t] == runs[t - lag]]


def _perm_p(observed, null, *, greater=True):
    null = np.asarray(null, dtype=np.float64)
    hits = np.sum(null >= observed) if greater else np.sum(null <= observed)
    return float((1 + hits) / (1 + null.size))


def _z(observed, null):
    sd = float(np.std(null))
    return float((observed - np.mean(null)) / sd) if sd > 0 else float("inf")


def _negentropy(Y):
    """Negentropy approximation (E log cosh y - E log cosh g)^2 of standardised columns."""
    Y = (Y - Y.mean(axis=0)) / Y.std(axis=0)
    return (np.mean(np.log(np.cosh(Y)), axis=0) - _GAUSS_LOGCOSH) ** 2


def _gaussian_surrogate(y, rng):
    """Return a Gaussian series whose expected periodogram is that of ``y``.

    Each Fourier coefficient of ``y`` is multiplied by a standard complex Gaussian: random
    phases, as in phase-randomised surrogates, and also random amplitudes, so the
    surrogate's sample moments vary as those of a Gaussian process do (fixed amplitudes
    make them vary less, and the null too narrow).
    """
    n = y.shape[0]
    f = np.fft.rfft(y - y.mean())
    g = (rng.normal(size=f.shape[0]) + 1j * rng.normal(size=f.shape[0])) / np.sqrt(2.0)
    g[0] = 0.0
    if n % 2 == 0:
        g[-1] = rng.normal()  # the Nyquist term stays real
    return np.fft.irfft(f * g, n=n)


# ------------------------------------------------------------------------------------------
# the four tests
# ------------------------------------------------------------------------------------------
_N_ANGLES = 32


def _max_projection_negentropy(P):
    """Largest negentropy of a unit direction in the plane of the two columns of ``P``."""
    P = P - P.mean(axis=0)
    eig, vec = np.linalg.eigh(P.T @ P / P.shape[0])
    P = P @ (vec / np.sqrt(np.maximum(eig, 1e-300)))
    theta = np.linspace(0.0, np.pi, _N_ANGLES, endpoint=False)
    Y = P @ np.vstack([np.cos(theta), np.sin(theta)])
    return float(np.max((np.mean(np.log(np.cosh(Y)), axis=0) - _GAUSS_LOGCOSH) ** 2))


# FastICA's linearity check: random ReLU features of the other components, a ridge
# penalty, and the share of a component's variance that may be a nonlinear function of the
# others before the mixing counts as nonlinear.
_N_FEATURES = 128
_RIDGE = 1e-2
_NONLINEAR_R2 = 0.05


class _CrossFit:
    """Ridge regression on fixed features, fitted on each half and scored on the other.

    The two halves are contiguous, so temporal correlation cannot leak into the held-out
    score; the solves are done once and reused for every target.
    """

    def __init__(self, F):
        n = F.shape[0]
        h = n // 2
        self.parts = []
        for train, test in ((slice(0, h), slice(h, n)), (slice(h, n), slice(0, h))):
            Ft = F[train]
            gram = Ft.T @ Ft + _RIDGE * Ft.shape[0] * np.eye(F.shape[1])
            self.parts.append((train, test, np.linalg.solve(gram, Ft.T), F[test]))

    def r2(self, y):
        pred = np.empty_like(y)
        for train, test, M, F_test in self.parts:
            pred[test] = F_test @ (M @ y[train])
        return 1.0 - np.mean((y - pred) ** 2) / np.var(y)


def _nonlinear_dependence(S, n_permutations, rng):
    """Held-out R² of components predicted nonlinearly from all others, and its null SD.

    The first ``_MAX_DIMS`` columns of ``S`` are predicted (the caller orders them).

    The null shifts the target circularly (at least a tenth of the series), which keeps its
    marginal and autocorrelation and breaks its relation to the others.
    """
    n, k = S.shape
    checked = range(min(k, _MAX_DIMS))  # enough to see a nonlinear mixing, cheap on 64 channels
    r2, sd = np.empty(len(checked)), np.empty(len(checked))
    for i in checked:
        others = np.delete(S, i, axis=1)
        W = rng.normal(size=(k - 1, _N_FEATURES)) / np.sqrt(k - 1)
        b = rng.uniform(-2.0, 2.0, size=_N_FEATURES)
        fit = _CrossFit(np.column_stack([np.ones(n), others, np.maximum(others @ W + b, 0)]))
        y = S[:, i]
        r2[i] = fit.r2(y)
        shifts = rng.randint(n // 10, n - n // 10, size=n_permutations)
        sd[i] = np.std([fit.r2(np.roll(y, int(t))) for t in shifts])
    return r2, np.maximum(sd, 1e-12)


def _test_fastica(X, runs, lag, n_permutations, rng):
    """At most one Gaussian source, linearly mixed.

    Two parts, both needed (the p-value is the larger of the two, an intersection-union
    test as for SlowVAE):

    - Non-Gaussianity: FastICA is run on ``X``; with at most one Gaussian source, the plane
      of its two least non-Gaussian components still holds a non-Gaussian direction.
      Statistic: the largest negentropy over the directions of that plane. Null: the least
      favourable case, two Gaussian sources; the plane is replaced by Gaussian surrogates
      of the two components (random Fourier phases and amplitudes around their spectra, so
      the null keeps the temporal correlation).
    - Linearity: under a nonlinear mixing, sources of any distribution turn into
      non-Gaussian linear components, so non-Gaussianity alone says nothing; but those
      components then depend on each other nonlinearly. Each component is predicted from
      random ReLU features of the others (ridge, fitted and scored on opposite halves);
      the test rejects "a component has at least ``_NONLINEAR_R2`` of its variance
      explained" when every held-out R² lies clearly below that margin.
    """
    Z = _whiten(X, max_dims=X.shape[1])
    if Z.shape[1] < 2:
        return dict(
            statistic=float("nan"),
            p_value=0.0,
            strength=float("inf"),
            note="one direction only: nothing to rotate",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        S = FastICA(
            whiten="unit-variance", max_iter=400, tol=1e-5, random_state=rng.randint(2**31 - 1)
        ).fit_transform(Z)
    J = _negentropy(S)
    pair = S[:, np.argsort(J)[:2]]
    observed = _max_projection_negentropy(pair)
    null = np.empty(n_permutations)
    for b in range(n_permutations):
        G = np.column_stack([_gaussian_surrogate(pair[:, j], rng) for j in range(2)])
        null[b] = _max_projection_negentropy(G)
    p_gauss = _perm_p(observed, null)
    strength = _z(observed, null)
    if S.shape[1] > 2:
        order = np.argsort(J)  # the least non-Gaussian pair first
        r2, sd = _nonlinear_dependence(S[:, order], max(n_permutations, 20), rng)
        z_linear = float(np.min((_NONLINEAR_R2 - r2) / sd))
        p_linear = float(stats.norm.sf(z_linear))
        strength = min(strength, z_linear)
        linear = f"; largest held-out R² of a component from the others {r2.max():.3f}"
    else:  # two components: no third to depend on; the check cannot be made
        p_linear, linear = 0.0, ""
    return dict(
        statistic=observed,
        p_value=max(p_gauss, p_linear),
        strength=strength,
        note=f"non-Gaussianity left in the two least non-Gaussian components (p={p_gauss:.3g})"
        f"; linear mixing (p={p_linear:.3g}{linear})",
        p_gaussian=p_gauss,
        p_linear=p_linear,
    )


def _segment_features(X):
    """Whitened data and its centred pairwise products, each column standardised."""
    Z = _whiten(X)
    iu = np.triu_indices(Z.shape[1])
    P = Z[:, iu[0]] * Z[:, iu[1]]
    return _standardise(np.hstack([Z, P]))


def _test_tcl(X, codes, runs):
    """Nonstationarity across segments.

    Each contiguous segment is cut in two halves and the means of the whitened data and of
    their pairwise products (means and covariances: after a nonlinear mixing a change of
    a source's scale moves both) are taken over each half. If the distribution changes
    from segment to segment, the two halves of one segment agree more than the last half
    of a segment and the first half of the next; for stationary data both pairs are two
    adjacent blocks of the same length and agree equally, temporal dependence included.
    Statistic: the mean of (within-segment agreement - across-boundary agreement), with a
    heteroscedasticity and autocorrelation consistent (Newey-West) standard error.
    """
    F = _segment_features(X)
    starts, stops = segment_runs(codes, runs)
    mids = (starts + stops) // 2
    cum = np.vstack([np.zeros((1, F.shape[1])), np.cumsum(F, axis=0)])
    size1 = np.maximum(mids - starts, 1)
    size2 = np.maximum(stops - mids, 1)
    first = (cum[mids] - cum[starts]) / size1[:, None]
    second = (cum[stops] - cum[mids]) / size2[:, None]
    usable = (stops - starts) >= 4
    within = np.sum(first * second, axis=1)
    nxt = np.arange(starts.size - 1)
    # the next piece must follow in the same recording
    adjacent = (runs[stops[nxt] - 1] == runs[starts[nxt + 1]]) & usable[nxt] & usable[nxt + 1]
    nxt = nxt[adjacent]
    if nxt.size < 4:
        raise ValueError(
            f"segments give {nxt.size} pairs of adjacent segments (of at least 4 samples) "
            "within recordings; the TCL test needs at least 4."
        )
    across = np.sum(second[nxt] * first[nxt + 1], axis=1)
    e = within[nxt] - across
    k = e.size
    ec = e - e.mean()
    lags = int(min(k - 1, max(1, np.floor(4 * (k / 100.0) ** (2.0 / 9.0)))))
    var = np.dot(ec, ec) / k
    for ell in range(1, lags + 1):
        var += 2 * (1 - ell / (lags + 1)) * np.dot(ec[ell:], ec[:-ell]) / k
    se = float(np.sqrt(max(var, 0.0) / k))
    tstat = float(e.mean() / se) if se > 0 else 0.0
    return dict(
        statistic=float(e.mean()),
        p_value=float(stats.t.sf(tstat, df=k - 1)),
        strength=tstat,
        note=f"within- minus across-segment agreement over {k} boundaries",
    )


def _lag_features(X):
    Z = _whiten(X)
    return _standardise(np.hstack([Z, Z**2]))


def _test_pcl(X, runs, lag, n_permutations, rng):
    """Temporal dependence at ``lag``.

    A discriminator of real pairs ``(x_t, x_{t-lag})`` against time-shuffled pairs: its
    weights are the lagged cross-moments of (whitened data, their squares) on the first
    half of the recording, and its score is the mean of the same bilinear form over the
    real pairs of the second half. Null: the second half shuffled in time (independent
    pairs), scored by the same discriminator.
    """
    F = _lag_features(X)
    n = F.shape[0]
    cut = n // 2
    train_runs = runs.copy()
    train_runs[cut:] = -1  # pairs never straddle the split
    t_train = _pair_index(train_runs, lag)
    t_train = t_train[t_train < cut]
    t_test = _pair_index(np.where(np.arange(n) >= cut, runs, -1), lag)
    t_test = t_test[t_test >= cut + lag]
    if t_train.size < 10 or t_test.size < 10:
        raise ValueError(
            f"X has too few pairs {lag} apart within recordings ({t_train.size + t_test.size})"
            " to test temporal dependence."
        )
    W = F[t_train].T @ F[t_train - lag] / t_train.size
    W = W + W.T  # dependence in either time direction counts
    test = F[cut:]
    t_loc = t_test - cut

    def score(G):
        return float(np.mean(np.sum((G[t_loc] @ W) * G[t_loc - lag], axis=1)))

    observed = score(test)
    null = np.array([score(test[rng.permutation(test.shape[0])]) for _ in range(n_permutations)])
    return dict(
        statistic=observed,
        p_value=_perm_p(observed, null),
        strength=_z(observed, null),
        note="held-out real-vs-shuffled pair score",
    )


def _kurtosis_ratio(Y, t_pair, lag):
    """E[y_t^4] / (3 E[y_t^2 y_{t+lag}^2]), summed over components, and its per-row terms."""
    a = np.sum(Y[t_pair] ** 4, axis=1)
    b = 3.0 * np.sum(Y[t_pair] ** 2 * Y[t_pair + lag] ** 2, axis=1)
    return a, b


def _test_slowvae(X, runs, lag, n_permutations, rng):
    """Slow, sparse transitions.

    Two parts, both required (the p-value is the larger one):

    * slow: the mean squared increment of the whitened data over ``lag`` is below that of
      time-shuffled data (the null: no temporal dependence);
    * sparse: the increments are heavy-tailed beyond what a slowly changing scale explains.
      With Gaussian transitions seen through a smooth mixing, an increment is Gaussian
      given the current state, so on any fixed direction
      ``E[d_t^4] = 3 E[d_t^2 d_{t+lag}^2]`` (consecutive increments share their scale);
      Laplace transitions give a ratio near 2. The directions are a FastICA of the
      increments of the first half; the ratio is measured on the second half, its
      standard error by a jackknife over contiguous batches, and it must exceed
      ``1 + 0.1`` (a margin for the curvature of the mixing).
    """
    Z = _whiten(X)
    n, d = Z.shape
    t = _pair_index(runs, lag)
    if t.size < 4 * _JACKKNIFE_BATCHES:
        raise ValueError(f"X has too few pairs {lag} apart to test slow transitions.")
    # slow
    inc = Z[t] - Z[t - lag]
    observed_slow = float(np.mean(inc**2))
    null = np.empty(n_permutations)
    for b in range(n_permutations):
        P = Z[rng.permutation(n)]
        null[b] = np.mean((P[t] - P[t - lag]) ** 2)
    p_slow = _perm_p(observed_slow, null, greater=False)
    z_slow = -_z(observed_slow, null)
    # sparse: increments D_t = Z_t - Z_{t-lag}, paired with the next one D_{t+lag}
    D = np.full_like(Z, np.nan)
    D[t] = Z[t] - Z[t - lag]
    ok = np.isfinite(D[:, 0])
    cut = n // 2
    train = np.flatnonzero(ok[:cut])
    nxt = np.arange(n - lag)
    nxt = nxt[ok[nxt] & ok[nxt + lag] & (nxt >= cut)]
    if train.size < 10 * d or nxt.size < 4 * _JACKKNIFE_BATCHES:
        raise ValueError(f"X has too few pairs {lag} apart to test slow transitions.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ica = FastICA(max_iter=400, tol=1e-5, random_state=rng.randint(2**31 - 1))
        ica.fit(D[train])
    Y = np.zeros_like(D)
    Y[ok] = (D[ok] - ica.mean_) @ ica.components_.T
    a, b = _kurtosis_ratio(Y, nxt, lag)
    ratio = float(a.sum() / b.sum())
    batches = np.array_split(np.arange(a.size), _JACKKNIFE_BATCHES)
    sa = np.array([a[i].sum() for i in batches])
    sb = np.array([b[i].sum() for i in batches])
    loo = (sa.sum() - sa) / (sb.sum() - sb)
    m = loo.size
    se = float(np.sqrt((m - 1) / m * np.sum((loo - loo.mean()) ** 2)))
    z_sparse = (ratio - 1.0 - _SLOW_MARGIN) / se if se > 0 else 0.0
    p_sparse = float(stats.t.sf(z_sparse, df=m - 1))
    return dict(
        statistic=ratio,
        p_value=max(p_slow, p_sparse),
        strength=float(min(z_slow, z_sparse)),
        note=f"increment kurtosis ratio (slow p={p_slow:.3g}, sparse p={p_sparse:.3g})",
        p_slow=p_slow,
        p_sparse=p_sparse,
    )


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------
@dataclass
class AssumptionReport:
    """What :func:`check_assumptions` found, one entry per method.

    Parameters
    ----------
    holds : dict
        Method name -> whether its assumption holds (p-value below ``alpha``).
    p_values : dict
        Method name -> p-value of the test of "the assumption fails".
    statistics : dict
        Method name -> observed test statistic.
    strength : dict
        Method name -> how far the statistic lies beyond its null, in null standard
        deviations (the ordering of :attr:`recommended`).
    recommended : list of str
        The methods whose assumption holds, strongest evidence first.
    alpha : float
        The level of the tests.
    details : dict
        Method name -> short description of the statistic and the segmentation used.

    Examples
    --------
    >>> import numpy as np
    >>> from nlica.diagnostics import check_assumptions
    >>> rng = np.random.default_rng(0)
    >>> X = rng.laplace(size=(2000, 3)) @ rng.normal(size=(3, 3))
    >>> report = check_assumptions(X, methods=("fastica", "pcl"), n_permutations=49,
    ...                            random_state=0)
    >>> report.holds
    {'fastica': True, 'pcl': False}
    """

    holds: dict
    p_values: dict
    statistics: dict
    strength: dict
    recommended: list
    alpha: float = 0.05
    details: dict = field(default_factory=dict)

    def to_dict(self):
        """Return the report as plain Python types (for JSON).

        Returns
        -------
        report : dict
            Keys ``holds``, ``p_values``, ``statistics``, ``strength``, ``recommended``,
            ``alpha`` and ``details``.

        Examples
        --------
        >>> r = AssumptionReport({"pcl": True}, {"pcl": 0.01}, {"pcl": 2.0},
        ...                      {"pcl": 5.0}, ["pcl"])
        >>> r.to_dict()["recommended"]
        ['pcl']
        """
        return {
            "holds": {k: bool(v) for k, v in self.holds.items()},
            "p_values": {k: float(v) for k, v in self.p_values.items()},
            "statistics": {k: float(v) for k, v in self.statistics.items()},
            "strength": {k: float(v) for k, v in self.strength.items()},
            "recommended": list(self.recommended),
            "alpha": float(self.alpha),
            "details": dict(self.details),
        }

    def __str__(self):
        rows = [("method", "assumption", "p-value", "holds", "strength")]
        for m in self.holds:
            rows.append(
                (
                    m,
                    _ASSUMPTIONS.get(m, ""),
                    f"{self.p_values[m]:.3g}",
                    "yes" if self.holds[m] else "no",
                    f"{self.strength[m]:.1f}",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        rec = ", ".join(self.recommended) if self.recommended else "none"
        lines.append(f"alpha = {self.alpha}; recommended: {rec}")
        return "\n".join(lines)


def check_assumptions(
    X,
    *,
    segments=None,
    groups=None,
    lag=1,
    methods=_METHODS,
    n_permutations=199,
    alpha=0.05,
    random_state=None,
):
    """Test, on the data alone, the assumption behind each estimator's identifiability.

    Each method gets a one-sided test whose null hypothesis is that its assumption fails;
    a small p-value is evidence that it holds. The tests are valid for nonlinear mixings
    too (their nulls are built from the data by shifts, shuffles and surrogates) and run
    in seconds on 2**14 samples.

    ``fastica``: at most one Gaussian source
        Non-Gaussianity left in the plane of the two least non-Gaussian FastICA
        components; null: two Gaussian sources (Fourier surrogates).
    ``tcl``: the distribution changes across segments
        Means and covariances agree better within a segment (between its halves) than
        across a segment boundary; t-test with a Newey-West standard error.
    ``pcl``: temporal dependence at ``lag``
        Held-out score of a discriminator of real against shuffled pairs; null: the
        held-out half shuffled in time.
    ``slowvae``: slow, sparse transitions
        Increments smaller than for shuffled data, and heavier-tailed than Gaussian
        given the state (a kurtosis ratio of consecutive increments above 1.1).

    See the user guide page "Can I trust these components?" for the calibration.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Observations in time order (at least two features).
    segments : array-like of shape (n_samples,), default=None
        Segment labels for the TCL test; ``None`` cuts each recording as
        :class:`~nlica.TCL` does by default (segments of ``min(512, n_samples // 16)``).
    groups : array-like of shape (n_samples,), default=None
        Recording labels; no pair is taken across two recordings.
    lag : int, default=1
        Time lag of the pairs (PCL, SlowVAE).
    methods : sequence of str, default=("fastica", "tcl", "pcl", "slowvae")
        Which tests to run.
    n_permutations : int, default=199
        Draws of the simulated nulls (FastICA, PCL and the slowness part of SlowVAE; the
        TCL test and the sparseness part of SlowVAE are t-tests); the smallest p-value of
        a simulated null is ``1 / (n_permutations + 1)``.
    alpha : float, default=0.05
        Level of the tests.
    random_state : int, RandomState instance or None, default=None
        Seed of the null draws.

    Returns
    -------
    report : AssumptionReport
        ``holds``, ``p_values``, ``recommended``; ``print(report)`` shows a table.

    See Also
    --------
    component_stability : Whether each fitted component is reproducible.

    Examples
    --------
    >>> from nlica.datasets import make_pcl_dataset
    >>> from nlica.diagnostics import check_assumptions
    >>> data = make_pcl_dataset(3, n_samples=4096, random_state=0)
    >>> report = check_assumptions(data.X, methods=("pcl",), random_state=0)
    >>> report.holds["pcl"], report.recommended
    (True, ['pcl'])
    """
    X = check_array_2d(X, name="X", ensure_min_samples=8, allow_1d=False)
    n, p = X.shape
    if p < 2:
        raise ValueError(f"X must have at least 2 features to test ICA assumptions; got {p}.")
    lag = _check_int(lag, "lag", 1)
    n_permutations = _check_int(n_permutations, "n_permutations", 1)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1); got {alpha!r}.")
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    unknown = [m for m in methods if m not in _METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty subset of {_METHODS}; got {methods!r}.")
    runs = check_groups(groups, n)
    if lag >= n // 4:
        raise ValueError(f"lag={lag} is too large for {n} samples; use lag < {n // 4}.")
    rng = check_random_state(random_state)
    results, details = {}, {}
    for m in methods:
        if m == "fastica":
            r = _test_fastica(X, runs, lag, n_permutations, rng)
        elif m == "tcl":
            if segments is None:
                length = _auto_segment_length(n)
                codes = cut_segments(runs, length)
                seg_note = f"segments of {length} samples"
            else:
                labels = check_labels(segments, n, name="segments")
                _, codes = np.unique(labels, return_inverse=True)
                codes = codes.reshape(-1)
                seg_note = "given segments"
            if codes.max() < 1:
                raise ValueError("segments has one label; the TCL test needs at least 2.")
            r = _test_tcl(X, codes, runs)
            r["note"] = f"{r['note']}; {seg_note}"
        elif m == "pcl":
            r = _test_pcl(X, runs, lag, n_permutations, rng)
        else:
            r = _test_slowvae(X, runs, lag, n_permutations, rng)
        results[m] = r
        details[m] = r["note"]
    p_values = {m: r["p_value"] for m, r in results.items()}
    holds = {m: bool(p_values[m] <= alpha) for m in methods}
    strength = {m: float(results[m]["strength"]) for m in methods}
    recommended = sorted((m for m in methods if holds[m]), key=lambda m: -strength[m])
    return AssumptionReport(
        holds=holds,
        p_values=p_values,
        statistics={m: float(r["statistic"]) for m, r in results.items()},
        strength=strength,
        recommended=recommended,
        alpha=float(alpha),
        details=details,
    )
