"""Offline renderer of binary sprite sequences with sparse factor transitions.

A stand-in for the dSprites / Natural Sprites sequences of Klindt et al. (ICLR 2021): one
sprite per frame (a square, an ellipse or a heart) with four continuous factors -- scale,
orientation, x and y position -- that move between consecutive frames by sparse
(heavy-tailed) steps. Rendering is vectorised numpy; nothing is downloaded.

The ``"natural"`` transitions use the generalized-normal shape parameters fitted to real
object-mask trajectories (YouTube-VIS) in the authors' data analysis
(``data_analysis/data_analysis_both.ipynb`` of https://github.com/bethgelab/slow_disentanglement,
MIT licence, (c) 2020 Bethge Lab; Klindt, Schott, Sharma et al., "Towards Nonlinear
Disentanglement in Natural Data with Temporal Sparse Coding", ICLR 2021).
"""

import numbers

import numpy as np
from scipy import stats
from sklearn.utils import Bunch, check_random_state

__all__ = ["make_sprite_sequences", "SPRITE_SHAPES", "SPRITE_FACTOR_NAMES"]

SPRITE_SHAPES = ("square", "ellipse", "heart")
SPRITE_FACTOR_NAMES = ("shape", "scale", "orientation", "x", "y")

# Factor ranges: scale as in dSprites (0.5-1); orientation in [0, pi/4] so that every
# shape's frames are distinct (a square repeats every pi/2); positions in [0, 1].
_SCALE_RANGE = (0.5, 1.0)
_ORIENTATION_RANGE = (0.0, np.pi / 4)
# Largest sprite half-size as a fraction of the frame; centres keep the sprite in view.
_HALF_SIZE = 0.14
_MARGIN = 0.16

# Laplace transitions: scale of the step in normalised factor units ([0, 1] per factor).
_LAPLACE_SCALE = 0.04

# Generalized-normal fits of frame-to-frame changes of object masks, YouTube-VIS rows of
# transition_stats_klindt2021 (Klindt et al. 2021): shape beta and scale (pixels, frames
# downscaled to 64 px; area in px^2).
_GENNORM_BETA = {"area": 0.444, "x": 0.515, "y": 0.548}
_GENNORM_SCALE_PX = {"area": 5.04, "x": 0.257, "y": 0.308}
# Natural mode, in normalised units: positions use the fitted scale / 64 px, scaled up
# by 4 so that the sprite crosses the frame within a few hundred frames; the area fit
# gives the scale factor's shape parameter (its pixel scale depends on the unpublished mean
# area, so the position's normalised scale is used).
_NATURAL_SPEEDUP = 4.0


def _reflect(u):
    """Fold values back into [0, 1] (reflecting boundaries)."""
    u = np.mod(u, 2.0)
    return np.where(u > 1.0, 2.0 - u, u)


def _steps(rng, transitions, size):
    n = size[0]
    if transitions == "laplace":
        return rng.laplace(0.0, _LAPLACE_SCALE, size=size)
    px = _NATURAL_SPEEDUP / 64.0
    out = np.empty(size)
    # columns: scale, orientation, x, y
    out[:, 0] = stats.gennorm.rvs(
        _GENNORM_BETA["area"], scale=_GENNORM_SCALE_PX["x"] * px, size=n, random_state=rng
    )
    out[:, 1] = rng.laplace(0.0, _LAPLACE_SCALE, size=n)
    out[:, 2] = stats.gennorm.rvs(
        _GENNORM_BETA["x"], scale=_GENNORM_SCALE_PX["x"] * px, size=n, random_state=rng
    )
    out[:, 3] = stats.gennorm.rvs(
        _GENNORM_BETA["y"], scale=_GENNORM_SCALE_PX["y"] * px, size=n, random_state=rng
    )
    return out


def _render(shape_idx, scale, theta, x, y, image_size):
    """Rasterise one sprite per row; returns a bool array (n, image_size**2)."""
    f32 = np.float32
    scale, theta, x, y = (np.asarray(a, dtype=f32) for a in (scale, theta, x, y))
    coords = ((np.arange(image_size) + 0.5) / image_size).astype(f32)
    gy, gx = np.meshgrid(coords, coords, indexing="ij")
    gx = gx.ravel()[None, :]
    gy = gy.ravel()[None, :]
    cx = (_MARGIN + (1 - 2 * _MARGIN) * x)[:, None]
    cy = (_MARGIN + (1 - 2 * _MARGIN) * y)[:, None]
    r = (_HALF_SIZE * scale)[:, None]
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    dx, dy = gx - cx, gy - cy
    u = (c * dx + s * dy) / r
    v = (-s * dx + c * dy) / r
    out = np.zeros(u.shape, dtype=bool)
    for k in range(len(SPRITE_SHAPES)):
        rows = shape_idx == k
        if not np.any(rows):
            continue
        uk, vk = u[rows], v[rows]
        if SPRITE_SHAPES[k] == "square":
            mask = np.maximum(np.abs(uk), np.abs(vk)) <= 0.8
        elif SPRITE_SHAPES[k] == "ellipse":
            mask = uk**2 + (vk / 0.55) ** 2 <= 1.0
        else:  # heart: (X^2 + Y^2 - 1)^3 - X^2 Y^3 <= 0, pointing down (image y grows down)
            hx, hy = uk * 1.25, -vk * 1.25 + 0.15
            mask = (hx**2 + hy**2 - 1.0) ** 3 - hx**2 * hy**3 <= 0.0
        out[rows] = mask
    return out


def make_sprite_sequences(
    n_samples=10000,
    *,
    transitions="laplace",
    shapes=SPRITE_SHAPES,
    image_size=64,
    n_groups=1,
    random_state=None,
):
    """Render sequences of binary sprite frames whose factors move by sparse transitions.

    Each recording holds one shape (drawn from ``shapes``); its continuous factors start
    uniformly in their ranges and move between consecutive frames by independent sparse
    steps in normalised units (each factor scaled to [0, 1], with reflecting boundaries):

    * ``"laplace"``: Laplace steps of scale 0.04 (the SlowVAE prior's family);
    * ``"natural"``: generalized-normal steps with the shape parameters fitted by Klindt
      et al. (2021) to object-mask transitions of YouTube-VIS (x: 0.515, y: 0.548, area:
      0.444, used for the scale factor; sparser than Laplace), scales from the same fits;
      orientation moves by Laplace steps.

    Parameters
    ----------
    n_samples : int, default=10000
        Total number of frames over all recordings.
    transitions : {"laplace", "natural"}, default="laplace"
        Distribution of the factor steps.
    shapes : sequence of str, default=("square", "ellipse", "heart")
        Shapes to draw from (one per recording).
    image_size : int, default=64
        Side of the square frames in pixels (at least 8).
    n_groups : int, default=1
        Number of recordings of (nearly) equal length.
    random_state : int, RandomState instance or None, default=None
        Seed of the draw.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` frames, float32 0/1 of shape (n_samples, image_size**2), rows in time order;
        ``factors`` float64 (n_samples, 5): shape index (into ``SPRITE_SHAPES``), scale in
        [0.5, 1], orientation in [0, pi/4] radians, x and y in [0, 1]; ``target`` the four
        continuous factors; ``groups`` recording labels; ``factor_names``;
        ``image_shape`` ``(1, image_size, image_size)``; ``DESCR``.

    Examples
    --------
    >>> from nlica._sprites import make_sprite_sequences
    >>> data = make_sprite_sequences(20, image_size=16, random_state=0)
    >>> data.X.shape, data.factors.shape
    ((20, 256), (20, 5))
    """
    if transitions not in ("laplace", "natural"):
        raise ValueError(f"transitions must be 'laplace' or 'natural'; got {transitions!r}.")
    if isinstance(shapes, str):
        shapes = (shapes,)
    try:
        shapes = tuple(shapes)
    except TypeError:
        raise TypeError(
            f"shapes must be a shape name or a sequence of them, from {SPRITE_SHAPES}; got "
            f"{shapes!r} of type {type(shapes).__name__}."
        ) from None
    unknown = [s for s in shapes if s not in SPRITE_SHAPES]
    if not shapes or unknown:
        raise ValueError(f"shapes must be a non-empty subset of {SPRITE_SHAPES}; got {shapes!r}.")
    for name, value, low in (
        ("n_samples", n_samples, 1),
        ("image_size", image_size, 8),
        ("n_groups", n_groups, 1),
    ):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")
    if n_samples < n_groups:
        raise ValueError(f"n_samples ({n_samples}) must be at least n_groups ({n_groups}).")
    rng = check_random_state(random_state)
    groups = np.repeat(
        np.arange(n_groups), np.diff(np.linspace(0, n_samples, n_groups + 1).round().astype(int))
    )
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])

    shape_codes = np.array([SPRITE_SHAPES.index(s) for s in shapes])
    shape_of_group = shape_codes[rng.randint(len(shape_codes), size=n_groups)]
    u0 = rng.uniform(size=(n_groups, 4))
    steps = _steps(rng, transitions, (n_samples, 4))
    steps[starts] = 0.0
    # Cumulative walk within each recording, then fold into [0, 1].
    walk = np.cumsum(steps, axis=0)
    walk -= np.repeat(walk[starts], np.diff(np.r_[starts, n_samples]), axis=0)
    u = _reflect(u0[groups] + walk)

    scale = _SCALE_RANGE[0] + (_SCALE_RANGE[1] - _SCALE_RANGE[0]) * u[:, 0]
    theta = _ORIENTATION_RANGE[0] + (_ORIENTATION_RANGE[1] - _ORIENTATION_RANGE[0]) * u[:, 1]
    shape_idx = shape_of_group[groups]
    X = np.empty((n_samples, image_size * image_size), dtype=np.float32)
    chunk = max(1, 2**19 // (image_size * image_size))
    for a in range(0, n_samples, chunk):
        b = min(n_samples, a + chunk)
        X[a:b] = _render(shape_idx[a:b], scale[a:b], theta[a:b], u[a:b, 2], u[a:b, 3], image_size)
    factors = np.column_stack([shape_idx.astype(np.float64), scale, theta, u[:, 2], u[:, 3]])
    descr = (
        f"{n_samples} binary {image_size}x{image_size} sprite frames in {n_groups} "
        f"recording(s); shapes {shapes}; factors {SPRITE_FACTOR_NAMES} with {transitions} "
        "transitions (Klindt et al. 2021 style). Score SlowVAE against target (the four "
        "continuous factors) with Spearman MCC."
    )
    return Bunch(
        X=X,
        factors=factors,
        target=factors[:, 1:],
        groups=groups,
        factor_names=list(SPRITE_FACTOR_NAMES),
        image_shape=(1, image_size, image_size),
        DESCR=descr,
    )
