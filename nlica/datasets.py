"""Synthetic sources, invertible mixings and ready-made datasets for ICA experiments.

Every array has time in rows: sources ``S`` are ``(n_samples, n_sources)`` and observations
``X`` are ``(n_samples, n_features)``. Everything is float64 and driven by one
``random_state``.

Sources
    :func:`make_nonstationary_sources` (TCL), :func:`make_ar_sources` (PCL),
    :func:`make_laplace_transition_sources` (SlowVAE), :func:`make_iid_sources`.
Mixing
    :func:`make_linear_mixing` and :func:`make_mlp_mixing` return :class:`LinearMixing` and
    :class:`MLPMixing`: callables with an exact ``inverse``.
Bundles
    :func:`make_tcl_dataset`, :func:`make_pcl_dataset`, :func:`make_slowvae_dataset` follow
    the papers' data generation (docs page "Settings of the papers") and return a
    :class:`sklearn.utils.Bunch`.
"""

import functools
import numbers
from pathlib import Path

import numpy as np
from scipy.signal import lfilter
from sklearn.utils import Bunch, check_random_state

from ._sprites import make_sprite_sequences
from .utils._docstrings import fill_doc
from .utils.validation import _as_array_like, check_array_2d

__all__ = [
    "BaseMixing",
    "LinearMixing",
    "MLPMixing",
    "make_ar_sources",
    "make_iid_sources",
    "make_laplace_transition_sources",
    "make_linear_mixing",
    "make_mlp_mixing",
    "make_nonstationary_sources",
    "make_pcl_dataset",
    "make_slowvae_dataset",
    "make_tcl_dataset",
    "load_eeglab_sample",
    "load_audio_sources",
    "make_sprite_sequences",
]

# Seed of the private RNG behind the conditioning thresholds: the threshold is a property of
# the matrix ensemble, so it must not change with the user's random_state.
_THRESHOLD_SEED = 0
# Bounds the memory of the vectorised condition-number draw (elements per chunk).
_THRESHOLD_CHUNK = 2**22
# Redraws allowed per layer before giving up (the default threshold needs about 4 on average).
_MAX_REDRAWS = 100_000
_SEED_MAX = np.iinfo(np.int32).max


# --------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------


# Parameter entries shared by the generators' docstrings (``<name>`` lines).
_DOC_PARTS = {
    "seed of the draw": "random_state : int, RandomState instance or None, default=None\n"
    "    Seed of the draw.",
    "one seed": "random_state : int, RandomState instance or None, default=None\n"
    "    One seed for everything; sources and mixing draw from separate derived streams.",
    "n_sources": "n_sources : int, default=5\n    Number of sources and of observed features.",
    "sources and layers": "n_sources : int, default=5\n"
    "    Number of sources and of observed features.\n"
    "n_layers : int, default=2\n    Number of mixing matrices (1 is linear mixing).",
}
_DOC_PARTS["seed and sources"] = (
    _DOC_PARTS["seed of the draw"]
    + "\n\nReturns\n-------\nS : ndarray of shape (n_samples, n_sources)\n"
    "    The standardised sources, float64."
)


def _check_int(value, name, min_value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < min_value:
        raise ValueError(
            f"{name} must be an integer >= {min_value}; got {value!r} "
            f"(of type {type(value).__name__})."
        )
    return int(value)


def _check_real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(
            f"{name} must be a finite real number; got {value!r} (of type {type(value).__name__})."
        )
    return float(value)


def _check_option(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}; got {value!r}.")
    return value


def _rng(random_state):
    """``check_random_state`` with an error that names ``random_state``."""
    try:
        return check_random_state(random_state)
    except (ValueError, TypeError) as exc:
        # numpy's own messages ("Seed must be between 0 and 2**32 - 1") name no argument.
        raise ValueError(
            "random_state must be None, an integer in [0, 2**32 - 1] or a "
            f"numpy.random.RandomState; got {random_state!r} ({exc})."
        ) from exc


def _seeds(random_state, n):
    # Independent integer seeds for sub-generators, so that (e.g.) sources and mixing use
    # separate streams and changing one generator's draw count never shifts the other's.
    rng = _rng(random_state)
    return [int(s) for s in rng.randint(_SEED_MAX, size=n)]


def _standardise(S):
    S = S - S.mean(axis=0)
    std = S.std(axis=0)
    # A constant column cannot be scaled to unit variance; leave it at zero.
    std[std == 0] = 1.0
    return S / std


def _group_labels(n_samples, n_groups):
    # Equal-length recordings (lengths differ by at most one when n_groups does not divide).
    sizes = np.full(n_groups, n_samples // n_groups)
    sizes[: n_samples % n_groups] += 1
    return np.repeat(np.arange(n_groups, dtype=np.int64), sizes), sizes


# --------------------------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------------------------


def make_nonstationary_sources(
    n_sources=5, n_segments=64, segment_length=512, *, random_state=None
):
    """Segment-wise nonstationary Laplace sources, as in time-contrastive learning.

    Within segment ``tau`` each source is ``s_i = lambda_{i,tau} * e_i`` with ``e_i``
    unit-variance Laplace noise and ``lambda_{i,tau} ~ U(0, 1)`` drawn once per source and
    segment (Hyvärinen & Morioka, 2016). The sources are not standardised: the changing
    scale is the signal TCL learns from.

    Parameters
    ----------
    n_sources : int, default=5
        Number of sources (the paper uses 20).
    n_segments : int, default=64
        Number of segments (the paper uses 256).
    segment_length : int, default=512
        Samples per segment (as in the paper); at least 2.
    random_state : int, RandomState instance or None, default=None
        Seed of the draw.

    Returns
    -------
    S : ndarray of shape (n_segments * segment_length, n_sources)
        The sources, float64, time in rows.
    segments : ndarray of shape (n_segments * segment_length,)
        Integer segment label ``0 .. n_segments - 1`` of each sample.

    Examples
    --------
    >>> from nlica.datasets import make_nonstationary_sources
    >>> S, segments = make_nonstationary_sources(3, n_segments=4, segment_length=10,
    ...                                          random_state=0)
    >>> S.shape, segments[:12].tolist()
    ((40, 3), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    """
    n_sources = _check_int(n_sources, "n_sources", 1)
    n_segments = _check_int(n_segments, "n_segments", 1)
    segment_length = _check_int(segment_length, "segment_length", 2)
    rng = _rng(random_state)

    n_samples = n_segments * segment_length
    # Laplace(0, b) has variance 2 b^2, so b = 1/sqrt(2) gives unit variance.
    e = rng.laplace(0.0, 1.0 / np.sqrt(2.0), size=(n_samples, n_sources))
    scales = rng.uniform(0.0, 1.0, size=(n_segments, n_sources))
    segments = np.repeat(np.arange(n_segments, dtype=np.int64), segment_length)
    return e * scales[segments], segments


@fill_doc(_DOC_PARTS)
def make_ar_sources(
    n_sources=5, n_samples=2**15, *, rho=0.7, innovations="laplace", random_state=None
):
    """Stationary AR(1) sources with non-Gaussian innovations, as in PCL.

    ``s_i(t) = rho * s_i(t-1) + eps_i(t)`` with ``eps`` of variance ``1 - rho**2`` (so the
    stationary variance is one), started at ``s_i(-1) = 0``; each column is then
    standardised to zero mean and unit variance (Hyvärinen & Morioka, 2017).

    Parameters
    ----------
    n_sources : int, default=5
        Number of sources (the paper uses 20).
    n_samples : int, default=2**15
        Number of time points (the paper uses 2**18); at least 2.
    rho : float, default=0.7
        Autoregressive coefficient (the paper's 0.7), strictly between -1 and 1.
    innovations : {"laplace", "gaussian"}, default="laplace"
        Distribution of ``eps``. Gaussian innovations make a Gaussian process, the case PCL
        cannot identify; useful as a negative control.
    <seed and sources>

    Examples
    --------
    >>> from nlica.datasets import make_ar_sources
    >>> S = make_ar_sources(2, 1000, random_state=0)
    >>> S.shape, round(float(S[:, 0].std()), 6)
    ((1000, 2), 1.0)
    """
    n_sources = _check_int(n_sources, "n_sources", 1)
    n_samples = _check_int(n_samples, "n_samples", 2)
    rho = _check_real(rho, "rho")
    if not -1.0 < rho < 1.0:
        raise ValueError(
            f"rho must lie strictly between -1 and 1 for a stationary AR(1) process; got {rho!r}."
        )
    _check_option(innovations, "innovations", {"laplace", "gaussian"})
    rng = _rng(random_state)

    var = 1.0 - rho**2
    if innovations == "laplace":
        eps = rng.laplace(0.0, np.sqrt(var / 2.0), size=(n_samples, n_sources))
    else:
        eps = rng.normal(0.0, np.sqrt(var), size=(n_samples, n_sources))
    # lfilter runs the recursion in C; zero initial state means s(-1) = 0.
    S = lfilter([1.0], [1.0, -rho], eps, axis=0)
    return _standardise(S)


@fill_doc(_DOC_PARTS)
def make_laplace_transition_sources(
    n_sources=5, n_samples=2**15, *, rate=6.0, n_groups=1, stationary=True, random_state=None
):
    """Slowly varying sources with sparse Laplace transitions, after the SlowVAE prior.

    Each recording starts from ``z_0 ~ N(0, I)`` (the SlowVAE prior for the first frame) and
    moves by independent Laplace steps of rate ``rate`` (scale ``1 / rate``)::

        z_t = decay * z_{t-1} + Laplace(0, 1 / rate)

    A pure random walk (``decay = 1``) is unbounded and nonstationary. With
    ``stationary=True`` the walk is pulled back gently with
    ``decay = sqrt(1 - 2 / rate**2)``, the one value that keeps the variance at exactly 1
    at every step (``decay**2 + 2 / rate**2 = 1``), so the N(0, I) start is already the
    stationary variance. This needs ``rate > sqrt(2)``; at ``rate=6`` (SlowVAE's ``λ``) the
    decay is about 0.972 and the transitions stay sparse. With ``stationary=False``,
    ``decay = 1`` (a random walk; any ``rate > 0``). Finally every column is standardised
    over all recordings.

    Parameters
    ----------
    n_sources : int, default=5
        Number of sources.
    n_samples : int, default=2**15
        Total number of time points over all recordings.
    rate : float, default=6.0
        Rate ``λ`` of the Laplace transitions (SlowVAE's prior uses 6). Larger means smaller
        steps. Must exceed ``sqrt(2)`` when ``stationary=True``, 0 otherwise.
    n_groups : int, default=1
        Number of independent recordings, of equal length (differing by at most one sample);
        each has at least 2 samples.
    stationary : bool, default=True
        Variance-preserving mean reversion (True) or a pure random walk (False).
    <seed and sources>
    groups : ndarray of shape (n_samples,)
        Integer recording label ``0 .. n_groups - 1`` of each sample, in contiguous runs.

    Examples
    --------
    >>> from nlica.datasets import make_laplace_transition_sources
    >>> S, groups = make_laplace_transition_sources(2, 100, n_groups=2, random_state=0)
    >>> S.shape, int(groups[49]), int(groups[50])
    ((100, 2), 0, 1)
    """
    n_sources = _check_int(n_sources, "n_sources", 1)
    n_groups = _check_int(n_groups, "n_groups", 1)
    n_samples = _check_int(n_samples, "n_samples", 2 * n_groups)
    rate = _check_real(rate, "rate")
    stationary = bool(stationary)
    if stationary and rate <= np.sqrt(2.0):
        raise ValueError(
            f"rate must be > sqrt(2) (about 1.414) when stationary=True, got {rate!r}: the "
            "variance-preserving decay sqrt(1 - 2 / rate**2) needs it. Pass "
            "stationary=False for a random walk."
        )
    if rate <= 0:
        raise ValueError(
            f"rate must be > 0 (the Laplace transitions' inverse scale); got {rate!r}."
        )
    rng = _rng(random_state)

    decay = np.sqrt(1.0 - 2.0 / rate**2) if stationary else 1.0
    groups, sizes = _group_labels(n_samples, n_groups)
    # Row 0 of each recording carries its N(0, I) start, the other rows the Laplace steps;
    # lfilter then runs z_t = decay * z_{t-1} + input_t within the recording.
    inputs = rng.laplace(0.0, 1.0 / rate, size=(n_samples, n_sources))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    inputs[starts] = rng.normal(size=(n_groups, n_sources))
    S = np.empty_like(inputs)
    for start, size in zip(starts, sizes):
        S[start : start + size] = lfilter(
            [1.0], [1.0, -decay], inputs[start : start + size], axis=0
        )
    return _standardise(S), groups


@fill_doc(_DOC_PARTS)
def make_iid_sources(n_sources=5, n_samples=10000, *, distribution="laplace", random_state=None):
    """Independent, identically distributed sources (no temporal structure).

    The classic setting of linear ICA.

    Parameters
    ----------
    n_sources : int, default=5
        Number of sources.
    n_samples : int, default=10000
        Number of samples; at least 2.
    distribution : {"laplace", "uniform", "gaussian", "mixed"}, default="laplace"
        Laplace is super-Gaussian (excess kurtosis 3), uniform sub-Gaussian (-1.2), Gaussian
        not identifiable by ICA (0). ``"mixed"`` alternates Laplace and uniform columns
        (Laplace, uniform, Laplace, ...), a non-Gaussian mix of both kurtosis signs.
    <seed of the draw>

    Returns
    -------
    S : ndarray of shape (n_samples, n_sources)
        The sources, each column standardised to zero mean and unit variance, float64.

    Examples
    --------
    >>> from nlica.datasets import make_iid_sources
    >>> S = make_iid_sources(4, 500, distribution="mixed", random_state=0)
    >>> S.shape
    (500, 4)
    """
    n_sources = _check_int(n_sources, "n_sources", 1)
    n_samples = _check_int(n_samples, "n_samples", 2)
    _check_option(distribution, "distribution", {"laplace", "uniform", "gaussian", "mixed"})
    rng = _rng(random_state)

    size = (n_samples, n_sources)
    if distribution == "laplace":
        S = rng.laplace(size=size)
    elif distribution == "uniform":
        S = rng.uniform(-1.0, 1.0, size=size)
    elif distribution == "gaussian":
        S = rng.normal(size=size)
    else:
        laplace = rng.laplace(size=size)
        uniform = rng.uniform(-1.0, 1.0, size=size)
        S = np.where(np.arange(n_sources) % 2 == 0, laplace, uniform)
    return _standardise(S)


# --------------------------------------------------------------------------------------------
# mixing
# --------------------------------------------------------------------------------------------


def _random_unit_columns(rng, size):
    # Entries U(-1, 1), then each column scaled to unit L2 norm (the papers' recipe).
    A = rng.uniform(-1.0, 1.0, size=size)
    return A / np.linalg.norm(A, axis=-2, keepdims=True)


@functools.lru_cache(maxsize=64)
def _cond_threshold(n_features, n_sources, n_draws, percentile):
    # A property of the ensemble: a fixed private seed, cached because 10 000 SVDs add up.
    rng = np.random.RandomState(_THRESHOLD_SEED)
    chunk = max(1, _THRESHOLD_CHUNK // (n_features * n_sources))
    conds = []
    for start in range(0, n_draws, chunk):
        k = min(chunk, n_draws - start)
        conds.append(np.linalg.cond(_random_unit_columns(rng, (k, n_features, n_sources))))
    return float(np.percentile(np.concatenate(conds), percentile))


def _check_threshold_args(n_draws, cond_percentile, cond_threshold):
    n_draws = _check_int(n_draws, "n_draws", 1)
    cond_percentile = _check_real(cond_percentile, "cond_percentile")
    if not 0.0 < cond_percentile <= 100.0:
        raise ValueError(
            f"cond_percentile must lie in (0, 100] (a percentile of condition numbers); got "
            f"{cond_percentile!r}."
        )
    if cond_threshold is not None:
        cond_threshold = _check_real(cond_threshold, "cond_threshold")
        if cond_threshold < 1.0:
            raise ValueError(
                f"cond_threshold must be >= 1 (no matrix is better conditioned), "
                f"got {cond_threshold!r}."
            )
    return n_draws, cond_percentile, cond_threshold


class _UnreachableThresholdError(RuntimeError, ValueError):
    # A RuntimeError as before, and a ValueError because the cause is an argument's value.
    pass


def _draw_conditioned(rng, n_features, n_sources, threshold):
    for _ in range(_MAX_REDRAWS):
        A = _random_unit_columns(rng, (n_features, n_sources))
        if np.linalg.cond(A) <= threshold:
            return A
    raise _UnreachableThresholdError(
        f"No {n_features}x{n_sources} matrix with condition number <= {threshold:.4g} in "
        f"{_MAX_REDRAWS} draws; raise cond_threshold or cond_percentile."
    )


class BaseMixing:
    """A stack of mixing matrices with leaky ReLU between them; the shared base of mixings.

    Computes ``x = A_L σ(A_{L-1} σ(… σ(A_1 s)))`` row by row, with ``σ`` the leaky ReLU of
    slope ``slope`` and none after the last matrix. Use :class:`LinearMixing` or
    :class:`MLPMixing` (or :func:`make_linear_mixing`, :func:`make_mlp_mixing`) rather than
    this class directly.

    Parameters
    ----------
    weights : list of ndarray
        The matrices ``A_1 .. A_L`` in the order they are applied; ``A_1`` has shape
        ``(n_hidden, n_sources)``, the last ``(n_features, n_hidden)``. Every matrix but the
        first must be square so the map stays invertible. Stored as read-only copies.
    slope : float, default=0.2
        Negative-side slope of the leaky ReLU, > 0 so the map is invertible.

    Attributes
    ----------
    weights : list of ndarray
        The matrices, read-only.
    slope : float
        The leaky ReLU slope.
    n_layers : int
        Number of matrices ``L``.
    n_sources : int
        Input dimension.
    n_features : int
        Output dimension.

    Examples
    --------
    >>> import numpy as np
    >>> from nlica.datasets import BaseMixing
    >>> mixing = BaseMixing([np.eye(2), 2 * np.eye(2)])
    >>> mixing(np.array([[1.0, -1.0]]))
    array([[ 2. , -0.4]])
    """

    def __init__(self, weights, slope=0.2):
        weights = [np.array(W, dtype=np.float64) for W in weights]
        if not weights:
            raise ValueError("weights must hold at least one matrix, got an empty list.")
        for i, W in enumerate(weights):
            if W.ndim != 2:
                raise ValueError(f"weights[{i}] must be a 2-D matrix, got shape {W.shape}.")
            if i > 0 and W.shape[0] != W.shape[1]:
                raise ValueError(f"weights[{i}] must be square, got shape {W.shape}.")
            if i > 0 and W.shape[1] != weights[i - 1].shape[0]:
                raise ValueError(
                    f"weights[{i}] has {W.shape[1]} columns but weights[{i - 1}] has "
                    f"{weights[i - 1].shape[0]} rows."
                )
            if W.shape[0] < W.shape[1]:
                raise ValueError(
                    f"weights[{i}] has shape {W.shape}: fewer outputs than inputs cannot be "
                    "inverted."
                )
            # The ground truth of an experiment: guard it against accidental writes.
            W.flags.writeable = False
        slope = _check_real(slope, "slope")
        if slope <= 0:
            raise ValueError(f"slope must be > 0 for an invertible mixing, got {slope!r}.")
        self.weights = weights
        self.slope = slope

    @property
    def n_layers(self):
        """Number of matrices ``L`` (``1`` is linear mixing)."""
        return len(self.weights)

    @property
    def n_sources(self):
        """Input dimension (number of sources)."""
        return self.weights[0].shape[1]

    @property
    def n_features(self):
        """Output dimension (number of observed features)."""
        return self.weights[-1].shape[0]

    def _check_input(self, Z, name, n_columns):
        # Rejects sparse, complex, string and non-finite input (NaN would flow through the
        # layers into NaN observations); an empty batch of rows is fine.
        shape = tuple(np.shape(_as_array_like(Z, name)))
        if len(shape) != 2 or shape[1] != n_columns:
            raise ValueError(f"{name} must have shape (n_samples, {n_columns}); got {shape}.")
        return check_array_2d(Z, name=name, ensure_min_samples=0, allow_1d=False)

    def transform(self, S):
        """Mix sources into observations.

        Parameters
        ----------
        S : array-like of shape (n_samples, n_sources)
            The sources, time in rows. Never modified.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The mixed observations, float64.

        Examples
        --------
        >>> import numpy as np
        >>> from nlica.datasets import LinearMixing
        >>> LinearMixing(np.array([[1.0, 1.0], [0.0, 1.0]])).transform([[1.0, 2.0]])
        array([[3., 2.]])
        """
        H = self._check_input(S, "S", self.n_sources)
        for i, W in enumerate(self.weights):
            H = H @ W.T
            if i < self.n_layers - 1:
                H = np.where(H >= 0, H, self.slope * H)
        return H

    def __call__(self, S):
        """Mix sources into observations; the same as :meth:`transform`."""
        return self.transform(S)

    def inverse(self, X):
        """Recover the sources from observations exactly.

        Undoes each matrix with a linear solve (least squares for a tall first matrix,
        exact for observations it produced) and each leaky ReLU by dividing its negative
        side by ``slope``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations, time in rows. Never modified.

        Returns
        -------
        S : ndarray of shape (n_samples, n_sources)
            The sources, float64.

        Examples
        --------
        >>> import numpy as np
        >>> from nlica.datasets import make_mlp_mixing
        >>> mixing = make_mlp_mixing(3, 2, random_state=0)
        >>> S = np.random.RandomState(0).laplace(size=(5, 3))
        >>> bool(np.allclose(mixing.inverse(mixing(S)), S))
        True
        """
        H = self._check_input(X, "X", self.n_features)
        for i in reversed(range(self.n_layers)):
            W = self.weights[i]
            if W.shape[0] == W.shape[1]:
                H = np.linalg.solve(W, H.T).T
            else:
                H = np.linalg.lstsq(W, H.T, rcond=None)[0].T
            if i > 0:
                # The preceding layer's leaky ReLU: its negative outputs were scaled by slope.
                H = np.where(H >= 0, H, H / self.slope)
        return H

    def __repr__(self):  # noqa: D105
        return (
            f"{type(self).__name__}(n_sources={self.n_sources}, n_features={self.n_features}, "
            f"n_layers={self.n_layers}, slope={self.slope})"
        )


class LinearMixing(BaseMixing):
    """Linear mixing ``x = A s``.

    Parameters
    ----------
    A : array-like of shape (n_features, n_sources)
        The mixing matrix, with ``n_features >= n_sources`` (tall matrices mix into more
        observations than sources). Stored as a read-only copy.

    Attributes
    ----------
    A : ndarray of shape (n_features, n_sources)
        The mixing matrix, the ground truth for the Amari distance.
    weights : list of ndarray
        ``[A]``.
    n_layers : int
        Always 1.
    slope : float
        Always 1.0: a linear mixing has no nonlinearity (kept for a uniform interface).

    Examples
    --------
    >>> import numpy as np
    >>> from nlica.datasets import LinearMixing
    >>> mixing = LinearMixing(np.array([[2.0, 0.0], [1.0, 1.0]]))
    >>> mixing([[1.0, 1.0]]), mixing.inverse([[2.0, 2.0]])
    (array([[2., 2.]]), array([[1., 1.]]))
    """

    def __init__(self, A):
        super().__init__([A], slope=1.0)

    @property
    def A(self):
        """The mixing matrix, shape ``(n_features, n_sources)``."""
        return self.weights[0]


class MLPMixing(BaseMixing):
    """Invertible leaky-ReLU MLP mixing, as in the TCL and PCL papers.

    ``x = A_L σ(A_{L-1} σ(… σ(A_1 s)))`` with ``σ`` the leaky ReLU of slope ``slope`` and
    none after the last matrix, no biases. ``L = 1`` is linear mixing.

    Parameters
    ----------
    weights : list of ndarray
        The matrices ``A_1 .. A_L`` in the order they are applied (square in the papers).
    slope : float, default=0.2
        Negative-side slope of the leaky ReLU (the papers' 0.2).

    Attributes
    ----------
    weights, slope, n_layers
        As in :class:`BaseMixing` (the matrices read-only, the slope, their number ``L``).
    A : ndarray
        Only when ``n_layers == 1``: the mixing matrix ``weights[0]``, handy as linear
        ground truth. Accessing it on a deeper mixing raises ``AttributeError`` (so
        ``hasattr(mixing, "A")`` tells whether a linear ground truth exists).

    Examples
    --------
    >>> from nlica.datasets import make_mlp_mixing
    >>> mixing = make_mlp_mixing(4, 3, random_state=0)
    >>> mixing.n_layers, hasattr(mixing, "A")
    (3, False)
    """

    @property
    def A(self):
        """The mixing matrix when ``n_layers == 1``; ``AttributeError`` otherwise."""
        if self.n_layers != 1:
            raise AttributeError(
                f"A exists only for a linear mixing (n_layers=1); this one has "
                f"n_layers={self.n_layers}. Use .weights for the layer matrices."
            )
        return self.weights[0]


def make_linear_mixing(
    n_features,
    *,
    n_sources=None,
    cond_threshold=None,
    cond_percentile=25,
    n_draws=10000,
    random_state=None,
):
    """Draw a well-conditioned random mixing matrix.

    Entries are U(-1, 1) and each column is scaled to unit L2 norm; the matrix is redrawn
    until its condition number (largest over smallest singular value) is at most
    ``cond_threshold``. Without a threshold, it is the ``cond_percentile`` percentile of the
    condition numbers of ``n_draws`` such matrices (the papers: 25th percentile of 10 000,
    about 6.3 for 5x5, 16 for 10x10, 36 for 20x20). That threshold comes from a fixed
    private seed, so it does not depend on ``random_state``, and is cached.

    Parameters
    ----------
    n_features : int
        Number of observed features (rows of ``A``).
    n_sources : int, default=None
        Number of sources (columns of ``A``); ``None`` means ``n_features`` (square).
        Must not exceed ``n_features``.
    cond_threshold : float, default=None
        Largest accepted condition number (>= 1); ``None`` derives it as above.
    cond_percentile : float, default=25
        Percentile in (0, 100] of the random draws used as threshold.
    n_draws : int, default=10000
        Number of random matrices behind the threshold.
    random_state : int, RandomState instance or None, default=None
        Seed of the accepted matrix.

    Returns
    -------
    mixing : LinearMixing
        The mixing; ``mixing.A`` is the matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from nlica.datasets import make_linear_mixing
    >>> mixing = make_linear_mixing(3, random_state=0)
    >>> mixing.A.shape, np.allclose(np.linalg.norm(mixing.A, axis=0), 1)
    ((3, 3), True)
    """
    n_features = _check_int(n_features, "n_features", 1)
    n_sources = n_features if n_sources is None else _check_int(n_sources, "n_sources", 1)
    if n_sources > n_features:
        raise ValueError(
            f"n_sources must not exceed n_features (an invertible mixing needs at least as "
            f"many features as sources), got n_sources={n_sources}, n_features={n_features}."
        )
    n_draws, cond_percentile, cond_threshold = _check_threshold_args(
        n_draws, cond_percentile, cond_threshold
    )
    rng = _rng(random_state)
    if cond_threshold is None:
        cond_threshold = _cond_threshold(n_features, n_sources, n_draws, cond_percentile)
    return LinearMixing(_draw_conditioned(rng, n_features, n_sources, cond_threshold))


def make_mlp_mixing(
    n_features,
    n_layers,
    *,
    slope=0.2,
    cond_threshold=None,
    cond_percentile=25,
    n_draws=10000,
    random_state=None,
):
    """Draw an invertible leaky-ReLU MLP mixing, as in the TCL and PCL papers.

    ``n_layers`` square ``n_features x n_features`` matrices without biases, each drawn as in
    :func:`make_linear_mixing` (U(-1, 1) entries, unit-norm columns, redrawn until its
    condition number is within the best ``cond_percentile`` percent of ``n_draws`` draws),
    with a leaky ReLU of slope ``slope`` between them and none after the last.
    ``n_layers=1`` is linear mixing. The papers use slope 0.2 and L up to 5 (TCL) or 3 (PCL).

    Parameters
    ----------
    n_features : int
        Number of sources and of observed features.
    n_layers : int
        Number of matrices ``L`` (>= 1).
    slope : float, default=0.2
        Negative-side slope of the leaky ReLU, > 0.
    cond_threshold, cond_percentile, n_draws : float, float, int, default=None, 25, 10000
        The condition-number threshold of each layer, as in :func:`make_linear_mixing`.
    random_state : int, RandomState instance or None, default=None
        Seed of the layer matrices.

    Returns
    -------
    mixing : MLPMixing
        The mixing; ``mixing.weights`` holds ``A_1 .. A_L``.

    Examples
    --------
    >>> from nlica.datasets import make_mlp_mixing
    >>> mixing = make_mlp_mixing(5, 3, random_state=0)
    >>> mixing.n_layers, mixing.weights[0].shape, mixing.slope
    (3, (5, 5), 0.2)
    """
    n_features = _check_int(n_features, "n_features", 1)
    n_layers = _check_int(n_layers, "n_layers", 1)
    slope = _check_real(slope, "slope")
    if slope <= 0:
        raise ValueError(f"slope must be > 0 for an invertible mixing, got {slope!r}.")
    n_draws, cond_percentile, cond_threshold = _check_threshold_args(
        n_draws, cond_percentile, cond_threshold
    )
    rng = _rng(random_state)
    if cond_threshold is None:
        cond_threshold = _cond_threshold(n_features, n_features, n_draws, cond_percentile)
    weights = [
        _draw_conditioned(rng, n_features, n_features, cond_threshold) for _ in range(n_layers)
    ]
    return MLPMixing(weights, slope=slope)


# --------------------------------------------------------------------------------------------
# bundles
# --------------------------------------------------------------------------------------------


@fill_doc(_DOC_PARTS)
def make_tcl_dataset(
    n_sources=5, n_layers=2, n_segments=64, segment_length=512, *, random_state=None
):
    """Generate data for time-contrastive learning (Hyvärinen & Morioka, 2016).

    Nonstationary sources from :func:`make_nonstationary_sources` mixed by
    :func:`make_mlp_mixing` (square, slope 0.2, conditioned layers). TCL identifies the
    sources up to the absolute value, so the MCC target is ``|S|``. The paper uses
    20 sources, 256 segments of 512 and up to 5 layers; the defaults run on a laptop.
    The observations are not whitened (the estimators do that).

    Parameters
    ----------
    <sources and layers>
    n_segments : int, default=64
        Number of segments (TCL's classes).
    segment_length : int, default=512
        Samples per segment; at least 2.
    <one seed>

    Returns
    -------
    data : sklearn.utils.Bunch
        With keys ``X`` (n_samples, n_sources) observations; ``S`` sources; ``target``
        ``np.abs(S)``, what TCL's features are scored against; ``segments`` integer segment
        labels; ``groups`` None (one recording); ``mixing`` the :class:`MLPMixing`;
        ``DESCR`` a one-paragraph description.

    Examples
    --------
    >>> from nlica.datasets import make_tcl_dataset
    >>> data = make_tcl_dataset(3, n_layers=2, n_segments=8, segment_length=16, random_state=0)
    >>> data.X.shape, int(data.segments.max())
    ((128, 3), 7)
    """
    source_seed, mixing_seed = _seeds(random_state, 2)
    S, segments = make_nonstationary_sources(
        n_sources, n_segments, segment_length, random_state=source_seed
    )
    mixing = make_mlp_mixing(n_sources, n_layers, random_state=mixing_seed)
    descr = (
        f"TCL data (Hyvarinen & Morioka 2016): {n_sources} Laplace sources scaled by U(0, 1) "
        f"in each of {n_segments} segments of {segment_length} samples, mixed by a "
        f"{n_layers}-layer leaky-ReLU (slope 0.2) MLP with conditioned square matrices. "
        "Score TCL features (after linear ICA) against target = |S|."
    )
    return Bunch(
        X=mixing(S),
        S=S,
        target=np.abs(S),
        segments=segments,
        groups=None,
        mixing=mixing,
        DESCR=descr,
    )


@fill_doc(_DOC_PARTS)
def make_pcl_dataset(n_sources=5, n_layers=2, n_samples=2**15, *, rho=0.7, random_state=None):
    """Generate data for permutation-contrastive learning (Hyvärinen & Morioka, 2017).

    AR(1) sources with Laplace innovations from :func:`make_ar_sources` mixed by
    :func:`make_mlp_mixing`. PCL recovers the sources themselves, so ``target`` is ``S``.
    The paper uses 20 sources, 2**18 samples, 3 layers and ``rho=0.7``.

    Parameters
    ----------
    <sources and layers>
    n_samples : int, default=2**15
        Number of time points.
    rho : float, default=0.7
        Autoregressive coefficient, strictly between -1 and 1.
    <one seed>

    Returns
    -------
    data : sklearn.utils.Bunch
        With keys ``X`` observations; ``S`` sources; ``target`` ``S``; ``groups`` None
        (one recording); ``mixing`` the :class:`MLPMixing`; ``DESCR`` a description.

    Examples
    --------
    >>> from nlica.datasets import make_pcl_dataset
    >>> data = make_pcl_dataset(3, n_layers=3, n_samples=256, random_state=0)
    >>> data.X.shape, data.mixing.n_layers
    ((256, 3), 3)
    """
    source_seed, mixing_seed = _seeds(random_state, 2)
    S = make_ar_sources(n_sources, n_samples, rho=rho, random_state=source_seed)
    mixing = make_mlp_mixing(n_sources, n_layers, random_state=mixing_seed)
    descr = (
        f"PCL data (Hyvarinen & Morioka 2017): {n_sources} AR(1) sources, rho={rho}, "
        f"Laplace innovations, {n_samples} samples, standardised, mixed by a "
        f"{n_layers}-layer leaky-ReLU (slope 0.2) MLP with conditioned square matrices. "
        "Score PCL features against target = S."
    )
    return Bunch(X=mixing(S), S=S, target=S, groups=None, mixing=mixing, DESCR=descr)


@fill_doc(_DOC_PARTS)
def make_slowvae_dataset(
    n_sources=5, n_layers=1, n_samples=2**15, *, rate=6.0, n_groups=1, random_state=None
):
    """Generate time series with sparse Laplace transitions, after the SlowVAE prior.

    The paper's data are images (Klindt et al., 2021); this is the vector analogue of its
    generative model: sources from :func:`make_laplace_transition_sources` (N(0, I) start,
    Laplace steps of rate ``rate``, variance-preserving mean reversion, standardised) mixed
    by :func:`make_mlp_mixing`. The target is ``S``; SlowVAE is scored with Spearman
    correlation.

    Parameters
    ----------
    <n_sources>
    n_layers : int, default=1
        Number of mixing matrices (1 is linear mixing).
    n_samples : int, default=2**15
        Total number of time points.
    rate : float, default=6.0
        Laplace rate ``λ`` of the transitions (the SlowVAE prior's 6); must exceed sqrt(2).
    n_groups : int, default=1
        Number of independent recordings of equal length.
    <one seed>

    Returns
    -------
    data : sklearn.utils.Bunch
        With keys ``X`` observations; ``S`` sources; ``target`` ``S``; ``groups`` integer
        recording labels (all zero for one recording); ``mixing`` the :class:`MLPMixing`;
        ``DESCR`` a description.

    Examples
    --------
    >>> from nlica.datasets import make_slowvae_dataset
    >>> data = make_slowvae_dataset(3, n_samples=200, n_groups=4, random_state=0)
    >>> data.X.shape, sorted(set(data.groups.tolist()))
    ((200, 3), [0, 1, 2, 3])
    """
    source_seed, mixing_seed = _seeds(random_state, 2)
    S, groups = make_laplace_transition_sources(
        n_sources, n_samples, rate=rate, n_groups=n_groups, random_state=source_seed
    )
    mixing = make_mlp_mixing(n_sources, n_layers, random_state=mixing_seed)
    descr = (
        f"SlowVAE-style data (Klindt et al. 2021): {n_sources} sources with Laplace "
        f"transitions of rate {rate} from an N(0, I) start, variance-preserving mean "
        f"reversion, {n_groups} recording(s), {n_samples} samples, standardised, mixed by "
        f"a {n_layers}-layer leaky-ReLU (slope 0.2) MLP. Score against target = S "
        "(Spearman)."
    )
    return Bunch(X=mixing(S), S=S, target=S, groups=groups, mixing=mixing, DESCR=descr)


# ------------------------------------------------------------------------------------------
# Real recordings shipped with the package (see nlica/data/README.md for licences).
# ------------------------------------------------------------------------------------------
_DATA_DIR = Path(__file__).resolve().parent / "data"


def load_eeglab_sample():
    """Load the EEGLAB tutorial EEG recording shipped with nlica (no mne needed).

    32 channels (30 EEG and two EOG channels, ``EOG1`` and ``EOG2``) at 128 Hz, 238 s of
    one subject in a visual attention task (Delorme & Makeig, 2004). The data are in time
    order, one row per sample, as the estimators expect; channels-first tools want
    ``data.T``.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        ``data`` (30504, 32) float64 in microvolts; ``ch_names`` list of 32 str;
        ``sfreq`` 128.0; ``events`` list of ``(latency_in_samples, type)`` tuples;
        ``ch_pos`` dict of channel name to its ``(x, y, z)`` position in metres (head
        coordinates: x to the right ear, y to the nose, on a 95 mm sphere), read from the
        shipped EEGLAB location file; ``montage`` the same positions as an
        :class:`mne.channels.DigMontage` when mne is installed (else None), for
        ``raw.set_montage``; ``DESCR`` the licence and citation.

    References
    ----------
    A. Delorme and S. Makeig (2004), "EEGLAB: an open source toolbox for analysis of
    single-trial EEG dynamics including independent component analysis", J. Neurosci.
    Methods 134:9-21. Data: sccn/eeglab ``sample_data`` (BSD-2-Clause repository licence).

    Examples
    --------
    >>> eeg = load_eeglab_sample()
    >>> eeg.data.shape, eeg.sfreq, eeg.ch_names[:2]
    ((30504, 32), 128.0, ['FPz', 'EOG1'])
    >>> [round(float(v), 3) for v in eeg.ch_pos["Cz"]]  # the vertex
    [0.0, 0.0, 0.095]
    """
    from scipy.io import loadmat

    folder = _DATA_DIR / "eeglab_sample"
    header = loadmat(folder / "eeglab_data.set", squeeze_me=True, struct_as_record=False)["EEG"]
    n_channels, n_samples = int(header.nbchan), int(header.pnts)
    # The .fdt file is float32, channels x samples in column-major order.
    raw = np.fromfile(folder / "eeglab_data.fdt", dtype="<f4")
    data = raw.reshape((n_channels, n_samples), order="F").T.astype(np.float64)
    events = [(int(round(float(e.latency))) - 1, str(e.type)) for e in np.atleast_1d(header.event)]
    ch_pos = _read_locs(folder / "eeglab_chan32.locs")
    try:
        import mne
    except ImportError:
        montage = None
    else:
        montage = mne.channels.make_dig_montage(ch_pos=ch_pos, coord_frame="head")
    return Bunch(
        data=data,
        ch_names=[str(c.labels) for c in header.chanlocs],
        sfreq=float(header.srate),
        events=events,
        ch_pos=ch_pos,
        montage=montage,
        DESCR=(folder.parent / "README.md").read_text(encoding="utf-8"),
    )


def _read_locs(path, head_radius=0.095):
    """Channel positions from an EEGLAB ``.locs`` file (polar ``theta``, ``radius``).

    EEGLAB's polar map: ``theta`` in degrees from the nose, positive towards the right
    ear; ``radius`` 0.5 on the head's equator (so the angle from the vertex is
    ``pi * radius``). Returns positions on a sphere of ``head_radius`` metres.
    """
    pos = {}
    for line in Path(path).read_text().splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        theta, radius, name = np.deg2rad(float(fields[1])), float(fields[2]), fields[3]
        down = np.pi * radius  # angle from the vertex
        pos[name] = head_radius * np.array(
            [np.sin(down) * np.sin(theta), np.sin(down) * np.cos(theta), np.cos(down)]
        )
    return pos


def load_audio_sources():
    """Load three 10 s audio clips (female speech, male speech, music) at 16 kHz.

    For cocktail-party demonstrations: mix them, then separate them.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        ``sources`` (160000, 3) float64 in [-1, 1]; ``names`` list of 3 str;
        ``sfreq`` 16000; ``DESCR`` the licences and attributions (LibriSpeech readings
        under CC BY 4.0 and a public-domain Brahms recording).

    Examples
    --------
    >>> audio = load_audio_sources()
    >>> audio.sources.shape, audio.sfreq, audio.names
    ((160000, 3), 16000, ['speech_female', 'speech_male', 'music'])
    """
    from scipy.io import wavfile

    folder = _DATA_DIR / "audio"
    files = [
        ("speech_female", "s1_speech_female_librispeech_198-209-0000.wav"),
        ("speech_male", "s2_speech_male_librispeech_3436-172162-0000.wav"),
        ("music", "s3_music_brahms_hungarian_dance_5.wav"),
    ]
    columns, rate = [], None
    for _, filename in files:
        rate, clip = wavfile.read(folder / filename)
        columns.append(clip.astype(np.float64) / 32768.0)
    return Bunch(
        sources=np.column_stack(columns),
        names=[name for name, _ in files],
        sfreq=int(rate),
        DESCR=(folder.parent / "README.md").read_text(encoding="utf-8"),
    )
