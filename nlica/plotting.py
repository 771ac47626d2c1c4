"""Plots of sources, matched correlations and experiment curves (needs matplotlib)."""

import numpy as np

from .metrics import _check_sources, _correlation_matrix, mean_corr_coef
from .utils._docstrings import fill_doc
from .utils.validation import check_array_2d, is_int

__all__ = [
    "plot_sources",
    "plot_correlation_matrix",
    "plot_mcc_curves",
    "plot_components",
    "plot_stability",
]

# The two arrays every ground-truth plot compares, documented once.
_sources_doc = fill_doc(
    {
        "source pair": "S_true : array-like of shape (n_samples, k_true)\n"
        "    Ground-truth sources.\n"
        "S_est : array-like of shape (n_samples, k_est)\n"
        "    Estimated sources (columns matched to ``S_true`` by correlation)."
    }
)


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("nlica.plotting needs matplotlib: pip install 'nlica[plot]'.") from exc
    return plt


@_sources_doc
def plot_correlation_matrix(S_true, S_est, *, method="pearson", ax=None, title=None):
    """Heat map of absolute correlations between true and estimated sources, matched.

    Columns of the estimate are reordered by the optimal matching, so a perfect recovery
    shows a bright diagonal.

    Parameters
    ----------
    <source pair>
    method : {"pearson", "spearman"}, default="pearson"
        Correlation used for the matching and the colours.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    title : str, default=None
        Title; defaults to the MCC and its rule.

    Returns
    -------
    ax : matplotlib Axes
        The heatmap's axes.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.random.default_rng(0).laplace(size=(500, 3))
    >>> ax = plot_correlation_matrix(S, S[:, ::-1])
    """
    plt = _plt()
    S_true, S_est = _check_sources(S_true, S_est)
    mcc, matching = mean_corr_coef(S_true, S_est, method=method, return_matching=True)
    # The metric's own correlations: 0 for a constant column (np.corrcoef gives NaN).
    C = np.abs(_correlation_matrix(S_true, S_est, method))
    order = list(matching[:, 1]) + [j for j in range(C.shape[1]) if j not in matching[:, 1]]
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.2))
    im = ax.imshow(C[:, order], vmin=0, vmax=1, cmap="viridis")
    ax.set_xlabel("estimated (matched order)")
    ax.set_ylabel("true")
    ax.set_title(title or f"MCC = {mcc:.3f} ({method}, |corr|)")
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    return ax


@_sources_doc
def plot_sources(S_true, S_est, *, n_points=500, method="pearson", axes=None):
    """Plot each true source above its matched estimate (sign and scale aligned).

    Parameters
    ----------
    <source pair>
    n_points : int, default=500
        Number of leading samples shown.
    method : {"pearson", "spearman"}, default="pearson"
        Correlation used for the matching.
    axes : array of matplotlib Axes, default=None
        One axis per true source; a new figure when None.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        One row of axes per source pair, true against estimated.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.random.default_rng(0).laplace(size=(500, 2))
    >>> axes = plot_sources(S, -S)
    """
    plt = _plt()
    # 2-D, finite, numeric, same length, with errors naming S_true or S_est.
    S_true, S_est = _check_sources(S_true, S_est)
    _, matching = mean_corr_coef(S_true, S_est, method=method, return_matching=True)
    k = S_true.shape[1]
    if axes is None:
        _, axes = plt.subplots(k, 1, figsize=(7, 1.1 * k + 0.5), sharex=True, squeeze=False)
        axes = axes[:, 0]
    t = np.arange(min(n_points, S_true.shape[0]))
    for i, j in matching:
        s = S_true[t, i]
        e = S_est[t, j]
        # Align sign and scale for display only.
        z = (s - s.mean()) / (s.std() or 1.0)
        ze = (e - e.mean()) / (e.std() or 1.0)
        ze *= np.sign(np.corrcoef(z, ze)[0, 1] or 1.0)
        axes[i].plot(t, z, lw=0.8, label="true")
        axes[i].plot(t, ze, lw=0.8, alpha=0.8, label="estimate")
        axes[i].set_ylabel(f"s{i}")
    axes[0].legend(loc="upper right", fontsize="small", ncol=2)
    axes[-1].set_xlabel("time")
    return axes


def plot_mcc_curves(table, *, x, curve, y="mcc", ax=None, title=None, rule=None):
    """Plot mean MCC (with min-max band over seeds) against a setting, one curve per group.

    Parameters
    ----------
    table : list of dict
        Rows of an experiment; each has the keys ``x``, ``curve`` and ``y``.
    x : str
        Key of the horizontal axis (e.g. ``"n_segments"``).
    curve : str
        Key whose values make separate curves (e.g. ``"n_layers"``).
    y : str, default="mcc"
        Key of the score.
    ax : matplotlib Axes, default=None
        Where to draw.
    title : str, default=None
        Plot title.
    rule : str, default=None
        The MCC rule, written on the plot (e.g. ``"Pearson vs |s|"``).

    Returns
    -------
    ax : matplotlib Axes
        The axes with one curve per value of ``curve``.

    Examples
    --------
    >>> rows = [{"L": 1, "n": 8, "mcc": 0.9}, {"L": 1, "n": 16, "mcc": 0.95}]
    >>> ax = plot_mcc_curves(rows, x="n", curve="L")
    """
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    for c in sorted({r[curve] for r in table}, key=str):
        xs = sorted({r[x] for r in table if r[curve] == c})
        vals = [[r[y] for r in table if r[curve] == c and r[x] == v] for v in xs]
        mean = [np.mean(v) for v in vals]
        ax.plot(xs, mean, marker="o", label=f"{curve}={c}")
        ax.fill_between(xs, [min(v) for v in vals], [max(v) for v in vals], alpha=0.2)
    ax.set_xlabel(x)
    ax.set_ylabel(f"MCC ({rule})" if rule else "MCC")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_components(mixing, ch_names, components=None, *, axes=None, sort=False):
    """Bar plot of each component's weights over channels (an EEG map without a scalp).

    Parameters
    ----------
    mixing : array-like of shape (n_channels, n_components)
        How much each component contributes to each channel, e.g. ``FastICA.mixing_``.
    ch_names : list of str
        Channel names, one per row of ``mixing``.
    components : list of int, default=None
        Components to show; all when None.
    axes : array of matplotlib Axes, default=None
        One axis per component; a new figure when None.
    sort : bool, default=False
        Order channels by absolute weight (largest first) instead of as given.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        One bar plot of channel weights per component.

    Examples
    --------
    >>> import numpy as np
    >>> axes = plot_components(np.eye(3), ["Fz", "Cz", "Pz"], components=[0, 2])
    >>> len(axes)
    2
    """
    plt = _plt()
    mixing = check_array_2d(mixing, name="mixing", allow_1d=False)
    if mixing.shape[0] != len(ch_names):
        raise ValueError(
            f"mixing must have one row per channel ({len(ch_names)} names); got shape "
            f"{mixing.shape}."
        )
    n_components = mixing.shape[1]
    components = list(range(n_components)) if components is None else list(components)
    bad = [c for c in components if not is_int(c) or not -n_components <= c < n_components]
    if bad:
        raise ValueError(
            f"components must be column indices of mixing (integers from 0 to "
            f"{n_components - 1}); got {bad}."
        )
    if axes is None:
        _, axes = plt.subplots(
            len(components),
            1,
            figsize=(max(6, 0.25 * len(ch_names)), 1.6 * len(components) + 0.6),
            squeeze=False,
        )
        axes = axes[:, 0]
    for ax, c in zip(axes, components):
        w = mixing[:, c]
        order = np.argsort(-np.abs(w)) if sort else np.arange(len(w))
        ax.bar(range(len(w)), w[order], color=np.where(w[order] >= 0, "C3", "C0"))
        ax.set_xticks(range(len(w)))
        ax.set_xticklabels([ch_names[i] for i in order], rotation=90, fontsize="x-small")
        ax.set_ylabel(f"IC {c}")
        ax.axhline(0, color="k", lw=0.5)
    return np.asarray(axes)


def plot_stability(result, *, threshold=0.8, axes=None, title=None):
    """Stability of each component and the similarity of the estimates across runs.

    Left: one bar per component of the estimator fitted on all data (its ICASSO-style
    cluster quality), with ``threshold`` drawn as a line. Right: the absolute correlations
    between all estimates of all runs, grouped by cluster, so a stable component is a
    bright block on the diagonal.

    Parameters
    ----------
    result : StabilityResult
        Output of :func:`nlica.diagnostics.component_stability`.
    threshold : float, default=0.8
        Where to draw the reference line (a rule of thumb, not a test).
    axes : sequence of two matplotlib Axes, default=None
        Where to draw; a new figure when None.
    title : str, default=None
        Title of the bar plot.

    Returns
    -------
    axes : ndarray of two matplotlib Axes
        The bar plot and the similarity matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from nlica import FastICA
    >>> from nlica.diagnostics import component_stability
    >>> X = np.random.default_rng(0).laplace(size=(1000, 2))
    >>> result = component_stability(FastICA(random_state=0), X, n_runs=3, random_state=0)
    >>> axes = plot_stability(result)
    """
    plt = _plt()
    stability = np.asarray(result.stability, dtype=float)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(8.0, 3.2))
    axes = np.asarray(axes).ravel()
    k = stability.size
    colours = ["C0" if s >= threshold else "C3" for s in stability]
    axes[0].bar(np.arange(k), stability, color=colours)
    axes[0].axhline(threshold, color="0.3", ls="--", lw=1)
    axes[0].set_ylim(0, 1.02)
    axes[0].set_xticks(np.arange(k))
    axes[0].set_xlabel("component")
    axes[0].set_ylabel("stability")
    axes[0].set_title(title or f"{result.n_runs} runs ({result.resample})")
    order = np.argsort(result.labels, kind="stable")
    im = axes[1].imshow(
        result.similarity[np.ix_(order, order)],
        vmin=0,
        vmax=1,
        cmap="viridis",
        interpolation="nearest",
    )
    axes[1].set_title(f"|{result.method}| between estimates, by cluster")
    axes[1].set_xticks([])
    axes[1].set_yticks([])
    axes[1].figure.colorbar(im, ax=axes[1], fraction=0.046)
    return axes
