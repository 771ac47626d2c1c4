"""component_stability: how reproducible each component is (ICASSO-style)."""

import inspect
import warnings
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from scipy import stats
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from .._fastica import FastICA
from ..samplers import cut_segments
from ..utils.validation import (
    check_array_2d,
    check_groups,
    check_labels,
    group_runs,
    segment_runs,
)
from ._common import _auto_segment_length, _check_int, _standardise

# ------------------------------------------------------------------------------------------
# component stability
# ------------------------------------------------------------------------------------------
# Blocks of the block bootstrap: enough that a resample differs, long enough to keep the
# temporal structure that PCL and SlowVAE learn from.
_N_BLOCKS = 32
# Rows used for the similarities between runs (evenly spaced over X).
_MAX_SIMILARITY_ROWS = 20_000
# The quantile of the pair scores reported as a component's stability: a lower decile
# separates Gaussian pairs (<= 0.62) from identifiable components (>= 0.94) with 10 runs,
# where the ICASSO mean let 2 of 40 Gaussian components score above 0.7.
_PAIR_QUANTILE = 0.1


@dataclass
class StabilityResult:
    """What :func:`component_stability` found.

    Parameters
    ----------
    stability : ndarray of shape (n_components,)
        Stability in [0, 1] of each component of :attr:`estimator`. Each compared pair
        of fits scores the component by its similarity across the pair minus its largest
        similarity to another component across the pair; the stability is the lower
        decile of these pair scores. Near 1: found again, distinct from the others, in
        nearly every pair; low: it swaps or blends with others in some runs.
    similarity : ndarray of shape (n_estimates, n_estimates)
        Absolute correlation between all estimated components on ``X``; the first
        ``n_components`` are those of :attr:`estimator`, then each run's in turn.
    labels : ndarray of shape (n_estimates,)
        Cluster (component of :attr:`estimator`) of each estimate.
    estimator : estimator
        The estimator fitted on all of ``X``.
    consensus : ndarray of shape (n_samples, n_components)
        Each cluster's centrotype (the member most similar to the rest of its cluster)
        evaluated on ``X``, signed like the component of :attr:`estimator`.
    n_runs : int
        Number of refits.
    resample : str
        ``"bootstrap"`` or ``"seed"``.
    method : str
        Correlation used: ``"pearson"`` (FastICA) or ``"spearman"`` (nonlinear estimators).

    Examples
    --------
    >>> import numpy as np
    >>> from nlica import FastICA
    >>> from nlica.datasets import make_iid_sources
    >>> from nlica.diagnostics import component_stability
    >>> X = make_iid_sources(2, 2000, random_state=0) @ np.array([[1.0, 0.5], [0.2, 1.0]])
    >>> result = component_stability(
    ...     FastICA(random_state=0), X, n_runs=4, resample="seed", random_state=0
    ... )
    >>> result.similarity.shape, result.labels[:4].tolist(), bool(result.stability.min() > 0.9)
    ((10, 10), [0, 1, 0, 1], True)
    """

    stability: np.ndarray
    similarity: np.ndarray
    labels: np.ndarray
    estimator: object
    consensus: np.ndarray
    n_runs: int
    resample: str
    method: str

    def __str__(self):
        lines = ["component  stability"]
        lines += [f"{j:>9d}  {s:9.3f}" for j, s in enumerate(self.stability)]
        return "\n".join(lines)


def _accepts(estimator, name):
    try:
        return name in inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return False


def _blocks(n, runs, codes):
    """Contiguous blocks for the block bootstrap: segments when given, else ~n/32 rows."""
    if codes is not None:
        return segment_runs(codes, runs)
    length = max(2, int(np.ceil(n / _N_BLOCKS)))
    starts, stops = [], []
    for a, b in zip(*group_runs(runs)):
        edges = list(range(a, b, length)) + [b]
        if len(edges) > 2 and edges[-1] - edges[-2] < length // 2:
            edges.pop(-2)  # a short tail joins the block before it
        starts += edges[:-1]
        stops += edges[1:]
    return np.asarray(starts), np.asarray(stops)


def _draw_blocks(starts, stops, n, rng):
    """Draw block indices with replacement until the blocks hold about n rows."""
    picks, total = [], 0
    while total < n:
        b = int(rng.randint(starts.size))
        picks.append(b)
        total += stops[b] - starts[b]
    return picks


def _take_blocks(starts, stops, picks):
    """Rows of the picked blocks, and a label per row naming its drawn block."""
    rows = [np.arange(starts[b], stops[b]) for b in picks]
    labels = [np.full(r.size, i) for i, r in enumerate(rows)]
    return np.concatenate(rows), np.concatenate(labels)


def _fit_one(estimator, X, fit_params, quiet):
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, **fit_params)
    return estimator


def _abs_corr(S, method):
    if method == "spearman":
        S = np.apply_along_axis(stats.rankdata, 0, S)
    S = _standardise(S)
    return np.abs(S.T @ S / S.shape[0])


def _cluster_scores(C, labels, k, compare):
    """Stability and centrotype of each cluster from the similarities between estimates.

    Each compared pair of fits scores component ``j`` by its similarity across the pair
    minus its largest similarity to another component across the pair (in both
    directions); the stability is a low quantile of these pair scores, so that a
    component counts as stable only when nearly every pair finds it, distinct from the
    others. A mean (as ICASSO's index) lets a few lucky pairs hide many swaps.
    """
    n_fits = compare.shape[0]
    # index[r, j]: the row of C holding fit r's estimate of cluster j
    index = np.empty((n_fits, k), dtype=np.int64)
    index[np.arange(labels.size) // k, labels] = np.arange(labels.size)
    scores = []
    for a, b in zip(*np.nonzero(np.triu(compare, 1))):
        M = C[np.ix_(index[a], index[b])]
        cross = (M + M.T) / 2.0
        np.fill_diagonal(cross, 0.0)
        scores.append(np.diag(M) - cross.max(axis=1, initial=0.0))
    stability = np.clip(np.quantile(np.asarray(scores), _PAIR_QUANTILE, axis=0), 0.0, 1.0)
    centre = np.empty(k, dtype=np.int64)
    for j in range(k):
        members = index[:, j]
        centre[j] = members[np.argmax(C[np.ix_(members, members)].sum(axis=1))]
    return stability, centre


def component_stability(
    estimator, X, *, n_runs=10, resample="bootstrap", n_jobs=None, random_state=None, **fit_params
):
    """Score how reproducible each component is, without ground truth (ICASSO-style).

    The estimator is fitted on all of ``X`` and ``n_runs`` more times, on block-bootstrap
    resamples of ``X`` (``resample="bootstrap"``; blocks are contiguous, within
    recordings, and whole segments for TCL, so temporal estimators still see pairs and
    segments) or on all of ``X`` with other seeds (``resample="seed"``). Every fit
    transforms all of ``X``; estimates are compared by absolute correlation (Pearson for
    FastICA, Spearman for the nonlinear estimators, whose components are defined up to a
    monotone function), each run's components are matched to those of the full fit, and
    each resulting cluster is scored as in ICASSO (Himberg et al., 2004) by similarity
    within the cluster minus similarity to the nearest other cluster, here per pair of
    fits, and summarised by the lower decile over pairs rather than the mean (so that a
    few lucky runs cannot make a component that the data leave undetermined look stable).

    Parameters
    ----------
    estimator : estimator
        An unfitted nlica (or scikit-learn) estimator with ``fit`` and ``transform``;
        cloned, never modified. Its ``random_state`` is changed in each run.
    X : array-like of shape (n_samples, n_features)
        Observations in time order.
    n_runs : int, default=10
        Number of refits besides the fit on all of ``X`` (at least 2).
    resample : {"bootstrap", "seed"}, default="bootstrap"
        Refit on block-bootstrap resamples, or on ``X`` with new seeds.
    n_jobs : int, default=None
        Parallel fits through joblib (``None``: one, ``-1``: all cores).
    random_state : int, RandomState instance or None, default=None
        Seed of the resamples and of the runs' seeds.
    **fit_params : dict
        Forwarded to ``fit`` (``segments``, ``groups``), resampled with ``X``.

    Returns
    -------
    result : StabilityResult
        ``stability`` per component, ``similarity``, ``estimator``, ``consensus``; plot it
        with :func:`nlica.plotting.plot_stability`.

    See Also
    --------
    check_assumptions : Whether an estimator's identifiability assumption holds.

    Examples
    --------
    >>> import numpy as np
    >>> from nlica import FastICA
    >>> from nlica.diagnostics import component_stability
    >>> rng = np.random.default_rng(0)
    >>> S = np.column_stack([rng.laplace(size=3000), rng.normal(size=(3000, 2))])
    >>> X = S @ rng.normal(size=(3, 3))
    >>> result = component_stability(FastICA(random_state=0), X, n_runs=6, random_state=0)
    >>> int(np.sum(result.stability > 0.9))  # the Laplace source; the Gaussian pair is not
    1
    """
    if not (hasattr(estimator, "fit") and hasattr(estimator, "transform")):
        raise TypeError(
            "estimator must have fit and transform (an nlica or scikit-learn transformer); "
            f"got {type(estimator).__name__}."
        )
    X = check_array_2d(X, name="X", ensure_min_samples=4, allow_1d=False)
    n = X.shape[0]
    n_runs = _check_int(n_runs, "n_runs", 2)
    if resample not in ("bootstrap", "seed", "split"):
        raise ValueError(f"resample must be 'bootstrap', 'seed' or 'split'; got {resample!r}.")
    if resample == "split" and n_runs % 2:
        raise ValueError(
            f"resample='split' fits pairs of halves: n_runs must be even; got {n_runs}."
        )
    unknown = [k for k in fit_params if not _accepts(estimator, k)]
    if unknown:
        raise TypeError(
            f"{type(estimator).__name__}.fit does not take {', '.join(unknown)}; "
            "fit_params are forwarded to fit."
        )
    rng = check_random_state(random_state)
    seeds = rng.randint(np.iinfo(np.int32).max, size=n_runs)
    has_seed = "random_state" in estimator.get_params()

    runs = check_groups(fit_params.get("groups"), n)
    codes = None
    if "segments" in fit_params and fit_params["segments"] is not None:
        labels = check_labels(fit_params["segments"], n, name="segments")
        codes = np.unique(labels, return_inverse=True)[1].reshape(-1)
    elif _accepts(estimator, "segments") and resample != "seed":
        # TCL cutting segments itself: resample whole segments and pass them explicitly.
        length = estimator.get_params().get("segment_length", "auto")
        if length == "auto":
            length = _auto_segment_length(n)
        codes = cut_segments(runs, int(length))

    jobs = [(clone(estimator), X, dict(fit_params), False)]
    starts, stops = _blocks(n, runs, codes)
    halves = []
    if resample == "split":
        for _ in range(n_runs // 2):
            order = rng.permutation(starts.size)
            cut = starts.size // 2
            halves += [np.sort(order[:cut]), np.sort(order[cut:])]
    for r in range(n_runs):
        est = clone(estimator)
        if has_seed:
            est.set_params(random_state=int(seeds[r]))
        if resample == "seed":
            jobs.append((est, X, dict(fit_params), True))
            continue
        if resample == "split":
            rows, block = _take_blocks(starts, stops, halves[r])
        else:
            rows, block = _take_blocks(starts, stops, _draw_blocks(starts, stops, n, rng))
        params = {
            k: (np.asarray(v)[rows] if k in ("segments", "groups") and v is not None else v)
            for k, v in fit_params.items()
        }
        if _accepts(estimator, "groups"):
            params["groups"] = block  # no pair across two drawn blocks
        if codes is not None and _accepts(estimator, "segments"):
            params["segments"] = codes[rows]
        jobs.append((est, X[rows], params, True))
    fitted = Parallel(n_jobs=n_jobs)(delayed(_fit_one)(*job) for job in jobs)

    method = "pearson" if isinstance(estimator, FastICA) else "spearman"
    sub = np.unique(np.linspace(0, n - 1, min(n, _MAX_SIMILARITY_ROWS)).astype(int))
    sources = [np.asarray(est.transform(X[sub]), dtype=np.float64) for est in fitted]
    k = sources[0].shape[1]
    if any(S.shape[1] != k for S in sources):
        raise ValueError("the runs estimated different numbers of components.")
    C = _abs_corr(np.hstack(sources), method)
    labels = np.empty((n_runs + 1) * k, dtype=np.int64)
    labels[:k] = np.arange(k)
    for r in range(1, n_runs + 1):
        block = C[:k, r * k : (r + 1) * k]
        ref, col = linear_sum_assignment(-block)
        labels[r * k + col] = ref
    # Which pairs of runs are compared: all of them, or for "split" only the two fits on
    # complementary halves (independent data, so that a chance rotation cannot repeat).
    n_fits = n_runs + 1
    compare = ~np.eye(n_fits, dtype=bool)
    if resample == "split":
        compare[:] = False
        for r in range(1, n_fits - 1, 2):
            compare[r, r + 1] = compare[r + 1, r] = True
    stability, centre = _cluster_scores(C, labels, k, compare)
    full = np.asarray(fitted[0].transform(X), dtype=np.float64)
    consensus = np.empty((n, k))
    for j in range(k):
        run, col = divmod(int(centre[j]), k)
        S = (
            full[:, col]
            if run == 0
            else np.asarray(fitted[run].transform(X), dtype=np.float64)[:, col]
        )
        sign = np.sign(np.corrcoef(S, full[:, j])[0, 1]) or 1.0
        consensus[:, j] = sign * S
    return StabilityResult(
        stability=stability,
        similarity=C,
        labels=labels,
        estimator=fitted[0],
        consensus=consensus,
        n_runs=n_runs,
        resample=resample,
        method=method,
    )
