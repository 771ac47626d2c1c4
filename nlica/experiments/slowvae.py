"""SlowVAE's comparison: Spearman MCC of SlowVAE, a beta-VAE and FastICA.

After Klindt et al. (2021): vector toys by mixing depth and sprite sequences with sparse
transitions; see the docs page "Settings of the papers".
"""

from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from .._slowvae import SlowVAE
from .._sprites import SPRITE_FACTOR_NAMES, make_sprite_sequences
from ..datasets import make_slowvae_dataset
from ..metrics import mean_corr_coef
from ..plotting import _plt, plot_mcc_curves
from . import _runner
from ._runner import (
    check_sweep,
    fastica_row,
    limit_threads,
    print_summary,
    save_figure,
    summarize,
    timed_row,
)

__all__ = ["run_slowvae_experiment", "report"]

# Laptop-sized settings of the sprite comparison; the paper's are 64x64 frames, Adam 1e-4,
# 32 pairs a step and 3e5 steps (``estimator_params={"preset": "paper"}`` on a GPU). The
# scale factor is learned late: Laplace seed 0 scale 0.57 after 2000 steps, 0.84 after 6000.
# Learning rate 2e-3 was no better on the six fits (scale 0.537--0.847, against 0.526--0.847).
# More frames at the same steps (20 000 in 50 recordings of 400, the defaults of
# run_slowvae_experiment, against 4000 in 10) raised the worst pooled scale of the six fits
# from 0.526 to 0.729 at the same cost: 4000 frames seen about 190 times each were
# overfitted. 40 000 frames were no better on the two fits measured.
# Of three restarts, the first had the best held-out ELBO in both cases measured. On the
# failing fits (Laplace and natural, seed 1), 12 000 steps gave scale 0.848 and 0.754,
# gamma=20 0.786 and 0.774, 128 pairs a step 0.802 (Laplace; x fell to 0.886). On the same
# frames, scale ranged from 0.50 to 0.81 with the initial weights alone. At 20 000 frames
# a rate of 3e-3 lifted the two failing fits but not the worst scale (0.716 against 0.729),
# and 6e-3 collapsed both seed-1 fits: 1e-3 stays, clear of that edge.
_SPRITE_DEFAULTS = {"max_iter": 6000, "batch_size": 64, "learning_rate": 1e-3}
_SPRITE_FACTORS = ("scale", "orientation", "x", "y")
RULE = "spearman, posterior mean vs factors, Hungarian matching (extra latents unmatched)"


def _spearman_matching(target, Z):
    """Spearman MCC with the per-factor |rho| of the matched pairs."""
    mcc, matching = mean_corr_coef(target, Z, method="spearman", return_matching=True)
    k = target.shape[1]
    C = np.corrcoef(rankdata(target, axis=0), rankdata(Z, axis=0), rowvar=False)[:k, k:]
    C = np.abs(np.nan_to_num(C))
    per = {int(i): float(C[i, j]) for i, j in matching}
    return float(mcc), matching, per


def _within_group_spearman(target, z, groups):
    """Spearman ``|rho|`` of ``z`` with ``target`` within each group, weighted by its size.

    The sprites' scale is also scored this way, within each shape: a latent that tracks
    a sprite's lit area (its scale and, at equal scale, its shape) ranks the frames of
    different shapes by area, not scale, and loses pooled correlation that it has within
    every shape, where the shape is constant.

    Parameters
    ----------
    target : array-like of shape (n_samples,)
        The factor.
    z : array-like of shape (n_samples,)
        The latent matched to it.
    groups : array-like of shape (n_samples,)
        The group of each sample; a group where either is constant counts as 0.

    Returns
    -------
    rho : float
        Mean over groups of the within-group ``|rho|``, weighted by the groups' sizes.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import spearmanr
    >>> scale = np.tile(np.linspace(1.0, 2.0, 50), 3)
    >>> shape = np.repeat([0, 1, 2], 50)
    >>> area = scale**2 * np.array([2.56, 1.73, 2.34])[shape]
    >>> round(float(_within_group_spearman(scale, area, shape)), 3)
    1.0
    >>> round(float(abs(spearmanr(scale, area)[0])), 3)
    0.925
    """
    target, z, groups = np.ravel(target), np.ravel(z), np.ravel(groups)
    total = 0.0
    for g in np.unique(groups):
        ranks = rankdata(np.stack([target[groups == g], z[groups == g]]), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.corrcoef(ranks)[0, 1]
        total += ranks.shape[1] * abs(float(np.nan_to_num(rho)))
    return total / target.shape[0]


def _pca_reduce(X, n_components):
    """Project centred frames on their leading principal directions.

    Done here rather than by FastICA's own whitening, which returned all-zero components
    on frames with constant (never-lit) pixels when ``n_components < n_features``.
    """
    X = np.asarray(X, dtype=np.float64)
    X = X - X.mean(axis=0)
    evals, evecs = np.linalg.eigh(X.T @ X)
    return X @ evecs[:, ::-1][:, : min(n_components, int(np.sum(evals > 1e-9 * evals[-1])))]


def _vae_names(baseline_beta):
    # A job without a baseline beta fits SlowVAE only (``baseline=False``).
    return ("SlowVAE",) if baseline_beta is None else ("SlowVAE", "beta-VAE")


def _vae_params(name, estimator_params, baseline_beta, **baseline):
    params = dict(estimator_params)
    if name == "beta-VAE":
        params.update(gamma=0.0, beta=float(baseline_beta), **baseline)
    return params


def _traversal(est, frame, span=2.0, n_steps=9):
    """Decode ``frame``'s posterior mean with each latent swept over [-span, span]."""
    z0 = est.transform(frame[None, :])[0]
    values = np.linspace(-span, span, n_steps)
    k = z0.shape[0]
    Z = np.repeat(z0[None, :], k * n_steps, axis=0).reshape(k, n_steps, k)
    for i in range(k):
        Z[i, :, i] = values
    X = est.inverse_transform(Z.reshape(k * n_steps, k))
    size = int(round(np.sqrt(X.shape[1])))
    return X.reshape(k, n_steps, size, size), values


def _job_rows(result):
    # Sprite jobs return (rows, traversals), vector jobs their rows.
    return result[0] if isinstance(result, tuple) else result


def _tag_rows(rows, part, n_layers, transitions, seed, device, *, rule, **extra):
    """Add the columns naming a job's setting to each of its rows, in the tables' order."""
    for r in rows:
        r.update(
            part=part,
            n_layers=n_layers,
            transitions=transitions,
            seed=seed,
            **extra,
            device=str(device),
            rule=rule,
        )
    return rows


def _vector_job(
    n_layers, seed, *, n_sources, n_samples, baseline_beta, device, n_jobs, estimator_params
):
    limit_threads(n_jobs)
    data = make_slowvae_dataset(
        n_sources=n_sources, n_layers=n_layers, n_samples=n_samples, random_state=seed
    )

    def score(S):
        return _spearman_matching(data.S, S)[0]

    rows = []
    for name in _vae_names(baseline_beta):
        est = SlowVAE(
            random_state=seed, device=device, **_vae_params(name, estimator_params, baseline_beta)
        )
        rows.append(timed_row(name, est, data.X, score, groups=data.groups)[0])
    rows.append(fastica_row(data.X, seed, score))
    return _tag_rows(rows, "vector", n_layers, None, seed, device, rule=RULE + " vs s")


def _sprite_job(
    transitions,
    seed,
    *,
    n_frames,
    image_size,
    n_groups,
    baseline_beta,
    device,
    n_jobs,
    estimator_params,
    traversal,
):
    limit_threads(n_jobs)
    data = make_sprite_sequences(
        n_frames,
        transitions=transitions,
        image_size=image_size,
        n_groups=n_groups,
        random_state=seed,
    )
    shape = tuple(data.image_shape)
    # A preset brings its own schedule; otherwise the laptop defaults, then the caller's.
    params = (
        dict(estimator_params)
        if "preset" in estimator_params
        else {**_SPRITE_DEFAULTS, **estimator_params}
    )
    found = {}

    def score(Z):
        found["mcc"], found["matching"], found["per"] = _spearman_matching(data.target, Z)
        # The latent matched to scale, also scored within each shape (constant within a
        # recording): see _within_group_spearman.
        k = _SPRITE_FACTORS.index("scale")
        j = {int(i): int(j) for i, j in found["matching"]}.get(k)
        found["within"] = None
        if j is not None:
            shapes = data.factors[:, SPRITE_FACTOR_NAMES.index("shape")]
            found["within"] = _within_group_spearman(data.target[:, k], Z[:, j], shapes)
        return found["mcc"]

    def per_factor():
        per = {f"mcc_{f}": found["per"].get(i) for i, f in enumerate(_SPRITE_FACTORS)}
        return {**per, "mcc_scale_within_shape": found["within"]}

    rows, traversals = [], {}
    for name in _vae_names(baseline_beta):
        est = SlowVAE(
            image_shape=shape,
            random_state=seed,
            device=device,
            # The paper's beta-VAE has a diagonal posterior: with a full one and no
            # transition prior its loss is blind to rotations of the latents.
            **_vae_params(name, params, baseline_beta, posterior="diagonal"),
        )
        row, Z = timed_row(name, est, data.X, score, groups=data.groups)
        rows.append({**row, **per_factor()})
        if traversal and seed == 0:  # the first seed's models only
            grid, values = _traversal(est, data.X[data.X.shape[0] // 2])
            # Each latent is labelled by the factor it was matched to.
            labels = {
                int(j): f"{_SPRITE_FACTORS[i]} ({found['per'][int(i)]:.2f})"
                for i, j in found["matching"]
            }
            traversals[name] = {
                "grid": grid,
                "values": values,
                "labels": [labels.get(j, "-") for j in range(grid.shape[0])],
                "transitions": transitions,
                "seed": seed,
                "latent_std": Z.std(0),
            }
    n_comp = params.get("n_components") or 10
    rows.append({**fastica_row(_pca_reduce(data.X, n_comp), seed, score), **per_factor()})
    _tag_rows(
        rows,
        "sprites",
        None,
        transitions,
        seed,
        device,
        image_size=image_size,
        rule=RULE + " (scale, orientation, x, y)",
    )
    return rows, traversals


@_runner.runner_docs
def run_slowvae_experiment(
    part="both",
    layers=(1, 2, 3),
    transitions=("laplace",),
    *,
    n_seeds=3,
    n_sources=5,
    n_samples=2**15,
    n_frames=20_000,
    image_size=32,
    n_groups=50,
    baseline_beta=None,
    device="cpu",
    n_jobs=1,
    verbose=0,
    estimator_params=None,
    return_traversals=False,
    progress=False,
    baseline=True,
):
    """Spearman MCC of SlowVAE, a beta-VAE and FastICA on vector toys and sprite sequences.

    Two parts, after Klindt et al. (2021):

    * ``"vector"``: :func:`~nlica.datasets.make_slowvae_dataset` (``n_sources`` Laplace-
      transition sources mixed by an ``n_layers`` MLP), one setting per depth;
    * ``"sprites"``: binary sprite frames of
      :func:`~nlica.datasets.make_sprite_sequences` whose scale, orientation, x and y move
      by sparse steps (``"laplace"`` or ``"natural"`` transitions); the networks are the
      paper's convolutional ones (``image_shape=(1, image_size, image_size)``, Bernoulli
      decoder, 10 latents).

    The beta-VAE baseline is the same estimator with ``gamma=0`` (no transition prior) and
    ``beta=baseline_beta``, on sprites with the paper's diagonal posterior (SlowVAE keeps
    its default full one; a full posterior without the transition prior leaves the
    latents' rotation free); FastICA runs on the observations (on the frames, first reduced
    by PCA to as many components as the VAEs' latents). Every method is scored
    on its training data with the Spearman MCC of its posterior means (FastICA: its
    components) against the true factors, optimal (Hungarian) matching; with more latents
    than factors the surplus latents stay unmatched.

    Sprite defaults are laptop-sized (32x32 frames, 20 000 frames in 50 recordings, 6000
    Adam steps of 64 pairs at 1e-3: about 10 minutes per model on one CPU core). The paper's
    scale, for a GPU: ``image_size=64, n_frames=100_000`` (or more) and
    ``estimator_params={"preset": "paper"}`` (Adam 1e-4, 32 pairs, 3e5 steps), or
    ``{"max_iter": 100_000, "batch_size": 64}`` for a shorter run.

    Parameters
    ----------
    part : {"vector", "sprites", "both"}, default="both"
        Which comparison to run.
    layers : sequence of int, default=(1, 2, 3)
        Mixing depths of the vector part.
    transitions : sequence of {"laplace", "natural"}, default=("laplace",)
        Sprite transition statistics (one setting each).
    n_seeds : int, default=3
        Seeds per setting (0, 1, ...); each seed draws new data and new initialisations.
    n_sources : int, default=5
        Sources of the vector part.
    n_samples : int, default=2**15
        Samples of the vector part.
    n_frames : int, default=20_000
        Frames of the sprite part.
    image_size : int, default=32
        Frame side (8, 16, 32 or 64).
    n_groups : int, default=50
        Sprite recordings (each holds one shape; pairs never cross recordings).
    baseline_beta : float, default=None
        ``beta`` of the beta-VAE baseline; ``None``: 8 on sprites (the paper's baseline,
        ``beta=8, gamma=0``, for the Bernoulli image decoder) and 1 on vectors (a plain
        VAE: SlowVAE without its transition prior, same Gaussian decoder).
    <runner parameters>
    estimator_params : dict, default=None
        Extra :class:`~nlica.SlowVAE` parameters for both VAEs (e.g. ``{"max_iter": 500}``,
        ``{"rate_prior": 3.0}``); on sprites they override the laptop defaults above,
        and a ``"preset"`` replaces them by its own schedule.
        ``gamma`` and ``beta`` here set SlowVAE's; the baseline keeps ``gamma=0``.
    return_traversals : bool, default=False
        Also return latent traversals of the first seed's sprite models.
    <progress>
    baseline : bool, default=True
        Also fit the beta-VAE baseline; ``False`` fits SlowVAE and FastICA only (half the
        time).

    Returns
    -------
    rows : list of dict
        One row per (method, part, setting, seed) with ``mcc``, ``seconds``, ``n_iter``,
        ``part``, ``n_layers`` (vector) or ``transitions`` (sprites, with per-factor
        ``mcc_scale``, ``mcc_orientation``, ``mcc_x``, ``mcc_y``, and
        ``mcc_scale_within_shape``: the latent matched to scale, scored within each
        shape) and the ``rule``.
    traversals : list of dict
        Only if ``return_traversals``: for each sprite setting and VAE, ``method``,
        ``transitions``, ``grid`` (n_latents, n_steps, size, size) of decoded frames (one
        frame's posterior mean with one latent set to each of ``values``, a sweep over
        [-2, 2]), ``labels`` (the factor each latent was matched to, with its ``|rho|``) and
        ``latent_std``.

    Examples
    --------
    >>> rows = run_slowvae_experiment("vector", [1], n_seeds=1, n_samples=2048,
    ...                               estimator_params={"max_iter": 50})  # doctest: +SKIP
    """
    if part not in ("vector", "sprites", "both"):
        raise ValueError(f"part must be 'vector', 'sprites' or 'both'; got {part!r}.")
    if isinstance(transitions, str):
        transitions = (transitions,)
    layers = check_sweep(layers, "layers", n_seeds)
    transitions = check_sweep(transitions, "transitions", n_seeds)
    params = dict(estimator_params or {})
    settings = []  # (job, args, kwargs, label)
    if part in ("vector", "both"):
        beta = (1.0 if baseline_beta is None else baseline_beta) if baseline else None
        vector = dict(n_sources=n_sources, n_samples=n_samples, baseline_beta=beta)
        vector["estimator_params"] = params
        settings += [(_vector_job, (L,), vector, f"vector L={L}") for L in layers]
    if part in ("sprites", "both"):
        beta = (8.0 if baseline_beta is None else baseline_beta) if baseline else None
        sprites = dict(n_frames=n_frames, image_size=image_size, n_groups=n_groups)
        sprites.update(baseline_beta=beta, traversal=return_traversals, estimator_params=params)
        settings += [(_sprite_job, (t,), sprites, f"sprites {t}") for t in transitions]
    results = _runner.run_sweep(
        settings, n_seeds, device, n_jobs, verbose, progress, "slowvae experiment", _job_rows
    )
    n_vector = sum(job is _vector_job for job, *_ in settings) * n_seeds
    rows = [row for rows in results[:n_vector] for row in rows]
    traversals = []
    for sprite_rows, trav in results[n_vector:]:
        rows.extend(sprite_rows)
        traversals.extend({"method": name, **t} for name, t in trav.items())
    if return_traversals:
        return rows, traversals
    return rows


def _sprite_bars(ax, sprites):
    methods = sorted({r["method"] for r in sprites})
    settings = sorted({r["transitions"] for r in sprites})
    width = 0.8 / len(methods)
    for m, method in enumerate(methods):
        vals = [
            [r["mcc"] for r in sprites if r["method"] == method and r["transitions"] == t]
            for t in settings
        ]
        mean = np.array([np.mean(v) for v in vals])
        err = np.array([[mu - min(v), max(v) - mu] for mu, v in zip(mean, vals)]).T
        ax.bar(
            np.arange(len(settings)) + (m - (len(methods) - 1) / 2) * width,
            mean,
            width,
            yerr=err,
            capsize=3,
            label=method,
        )
    ax.set_xticks(np.arange(len(settings)))
    ax.set_xticklabels([f"{t} transitions" for t in settings])
    ax.set_ylabel("MCC (Spearman, 4 continuous factors)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize="small")
    ax.set_title("Sprite sequences (min-max over seeds)")


def _plot(rows):
    vector = [r for r in rows if r["part"] == "vector"]
    sprites = [r for r in rows if r["part"] == "sprites"]
    panels = [p for p in (vector, sprites) if p]
    fig, axes = _plt().subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
    axes = list(axes[0])
    if vector:
        plot_mcc_curves(
            vector,
            x="n_layers",
            curve="method",
            ax=axes.pop(0),
            title="Vector toy by mixing depth",
            rule="Spearman vs s",
        )
    if sprites:
        _sprite_bars(axes.pop(0), sprites)
    fig.tight_layout()
    return fig


def _traversal_plot(traversals):
    """One panel per (model, transitions): a row per latent, decoded over [-2, 2]."""
    n = len(traversals)
    k, n_steps, size, _ = traversals[0]["grid"].shape
    fig, axes = _plt().subplots(
        1, n, figsize=(0.45 * n_steps * n + 1.6 * n, 0.45 * k + 1.0), squeeze=False
    )
    for ax, t in zip(axes[0], traversals):
        grid = t["grid"]
        pad = np.full((grid.shape[0], grid.shape[1], size + 2, size + 2), 0.4)
        pad[:, :, 1:-1, 1:-1] = grid
        mosaic = pad.transpose(0, 2, 1, 3).reshape(k * (size + 2), n_steps * (size + 2))
        ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1)
        ax.set_yticks((np.arange(k) + 0.5) * (size + 2))
        ax.set_yticklabels([f"z{i}: {lab}" for i, lab in enumerate(t["labels"])], fontsize="small")
        ax.set_xticks((np.arange(n_steps) + 0.5) * (size + 2))
        ax.set_xticklabels([f"{v:g}" for v in t["values"]], fontsize="x-small")
        ax.set_xlabel("latent value")
        ax.set_title(f"{t['method']}, {t['transitions']} (seed {t['seed']})", fontsize="medium")
    fig.tight_layout()
    return fig


def report(rows, out_dir, traversals=()):
    """Print and save (``slowvae_experiment*`` in ``out_dir``) its rows and traversals."""
    sprites = [r for r in rows if r["part"] == "sprites"]
    written = _runner.report(
        rows,
        out_dir,
        "slowvae_experiment",
        ["part", "n_layers", "transitions"],
        f"{RULE}; vector part vs s, sprite part vs (scale, orientation, x, y); scored on "
        "the training data",
        _plot,
    )
    if sprites:
        per = summarize(
            [
                {**r, "mcc": r[f"mcc_{f}"], "factor": f}
                for r in sprites
                for f in (*_SPRITE_FACTORS, "scale_within_shape")
                if r.get(f"mcc_{f}") is not None
            ],
            ["transitions", "factor"],
        )
        print("\nsprites, per factor (Spearman |rho| of the matched latent):")
        print_summary(per)
    if traversals:
        path = save_figure(
            lambda: _traversal_plot(traversals), Path(out_dir) / "slowvae_experiment_traversal.png"
        )
        if path is not None:
            written.append(path)
    return written
