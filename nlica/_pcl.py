"""PCL: permutation-contrastive learning (Hyvärinen & Morioka, AISTATS 2017).

A feature network ``h`` (maxout MLP with a batch-normalised output) and a small regression
function ``r`` are trained by logistic regression to tell real pairs ``(x_t, x_{t-lag})``
from pairs whose second element is ``x`` at a random time of the same recording. With
temporally dependent, non-Gaussian sources, ``h_i(x)`` recovers ``s_i`` up to a
component-wise invertible transform; no ICA step follows.
"""

import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._neural import CHUNK_ROWS, BaseNeuralICA, _fastica_unmixing
from ._neural_params import FAST_PRESET, SERIES_DATA_DOC
from ._rows import _thin
from .losses import pcl_infonce_loss, pcl_loss
from .nn.contrastive import PCLNet
from .samplers import PairSampler
from .utils._docstrings import fill_doc
from .utils.validation import check_groups, check_sample_weight

__all__ = ["PCL"]

# Settings of each preset; ``None`` parameters of the estimator take these values.
_PRESETS = {
    "fast": {
        **FAST_PRESET,
        "max_iter": 8000,
        "n_init": None,
        "ema_decay": None,
        "init": "xavier",
        # Hidden layers of max(min_width, width_factor * n_components) maxout units. With
        # 4 * n_components alone a 5-source network had 20 units, too few to invert a 4- or
        # 5-layer mixing (5 layers, seeds 0 and 1: 0.884 and 0.785 against 0.926 and 0.912
        # with 80; see the user guide).
        "width_factor": 4,
        "min_width": 80,
    },
    "paper": {
        "max_iter": 3_000_000,
        "batch_size": 512,
        "learning_rate": 0.1,
        "weight_decay": 1e-5,
        "n_init": None,
        "optimizer": "sgd",
        "momentum": 0.9,
        "schedule": "step",
        "ema_decay": 0.999,
        "init": "xavier",
        "width_factor": 2,
        "min_width": 1,
    },
}

# The "fast" preset's network steps grow with n_components beyond the first number, up to
# the second times its max_iter (the linear model's do not: see PCL._setting): 8000 at 2
# components, 16 000 from 5 on. At 5 sources 16 000 steps lifted 4-layer mixings (seed 2:
# 0.946 to 0.961) and 5-layer ones (seed 0: 0.926 to 0.940); 10 sources through 2 layers
# gave 0.91 at 8000 steps and 0.99 at 16 000.
_STEPS_PER_COMPONENTS = (2.5, 2.0)

# n_init=None: restart a network without spares (up to this many runs in all) while the
# features of the last run are degenerate, i.e. two of them correlate more than
# _DEGENERATE_CORR in absolute value.
_AUTO_MAX_INIT = 2
_DEGENERATE_CORR = 0.3
# Seed of the permuted samples drawn by ``score``: scores of different fits on the same
# data are then computed on the same pairs.
_SCORE_SEED = 0
# Rows whose features decide whether a run was degenerate (n_init=None).
_RESTART_ROWS = 1 << 16
# Pairs sampled for discriminator_accuracy_ at the end of fit (standard error < 0.002).
_FIT_SCORE_PAIRS = 1 << 16
# contrast="infonce": each real pair competes with the lag partners of the other pairs of
# its group of this many, so the task stays hard when many sources together make real
# pairs easy to tell from permuted ones (20 sources, 3 layers, seed 0, 8000 steps: 0.849
# with 128, 0.818 with 32). With the L1 distances of torch.cdist a step of 128 costs about
# what a logistic step does (20 sources: 11 ms against 9 ms on one core).
_NCE_GROUP = 128
# contrast="auto": the InfoNCE task from this many components on. The logistic task
# saturates as sources add up (20 sources, 3 layers: 0.689 against 0.898 with InfoNCE;
# EEG blink at 20 components 0.88 against 0.90) but is as good or better with few (10
# sources, 2 layers: 0.993 against 0.985; 5 sources: see the user guide).
_INFONCE_FROM = 10
# Spare features: from _SPARE_FROM components on, the "fast" preset's network learns one
# extra feature per _SPARE_PER components; transform leaves out the most dependent ones
# (see _drop_dependent). At 20 sources through 3 layers a run without spares spends one of its
# features on a function of many sources at once (each source explains at most 6% of it)
# and misses one source entirely (|r| 0.01-0.03 on seeds 0 and 1); with two spares every
# source has a feature of its own among the 22.
_SPARE_FROM = 10
_SPARE_PER = 10
# Rows on which the dependence between features is measured: at most this many, evenly
# spaced over all of them.
_DEPENDENCE_ROWS = 1 << 14
# The "fast" preset's linear model starts from FastICA (at most _WARM_ITER iterations on
# at most _WARM_ROWS evenly spaced rows) of the whitened rows.
_WARM_ROWS = 1 << 16
_WARM_ITER = 500


class PCL(BaseNeuralICA):
    """Permutation-contrastive learning: nonlinear ICA of temporally dependent sources.

    A maxout network ``h`` with ``n_components`` batch-normalised outputs learns, with a
    logistic-regression head, to tell real pairs ``(x_t, x_{t-lag})`` from pairs whose
    second element is ``x`` at a random time of the same recording. When the sources are
    mutually independent, temporally dependent and not Gaussian (more precisely, their
    transitions are not quasi-Gaussian), each feature ``h_i(x)`` equals one source up to
    a component-wise invertible transform (Hyvärinen & Morioka, 2017). ``transform`` returns
    ``h(x)``; no ICA step follows.

    Read more in the :ref:`User Guide <pcl>`.

    Parameters
    ----------
    n_components : int, default=None
        Number of features (sources) to estimate; ``None`` means ``n_features``. Fewer than
        ``n_features``: ``X`` is first reduced by PCA to ``n_components``
        dimensions (as FastICA does; see ``explained_variance_ratio_``).
    n_layers : int, default=2
        Number of maxout hidden layers of ``h``. The paper matches the depth of the
        mixing; with the fast preset's wider layers, 2 also handles 3-layer mixings.
        Ignored when ``hidden_layer_sizes`` is given.
    hidden_layer_sizes : sequence of int or int, default=None
        Widths of the maxout hidden layers (each an affine map to twice the width and a
        max over pairs). ``None``: ``[max(80, 4 * n_components)] * n_layers`` for ``"fast"``, the
        paper's ``[2 * n_components] * (n_layers - 1) + [n_components]`` for ``"paper"``.
    lag : int, default=1
        Lag between the two elements of a real pair.
    contrast : {"auto", "logistic", "infonce"}, default="auto"
        The contrastive task. ``"logistic"``: the paper's logistic regression of real
        against permuted pairs. ``"infonce"``: each ``x_t`` must pick its real partner
        among the lag partners of 127 other pairs of the batch (a softmax over the same
        regression function, both ways; the candidates may come from other
        recordings), and the offset ``m`` of ``r`` is fitted alongside on the detached
        logits, so ``r > 0`` still means "real" for :meth:`score`. With many sources a
        real pair differs from a permuted one in every source: the logistic task
        becomes easy before every source is learned, and its gradient fades, while the
        softmax task stays hard. The softmax leaves ``r`` free up to a function of
        ``x_t`` alone, which does not change the mixed derivatives on which PCL's
        identifiability rests. The ``accuracy`` of ``history_`` is then the share of
        rows whose real partner wins. ``"auto"``: InfoNCE from 10 components on, the
        logistic task below (see ``contrast_``). Measured at defaults: 20 sources
        through a 3-layer mixing (2**16 samples, seed 0, before the spare features of
        the Notes) MCC 0.898 with InfoNCE against 0.689; the shipped EEG (20
        components, linear model kept) blink correlation with FastICA's 0.90 against
        0.80; 10 sources through 2 layers 0.985 against 0.993; 5 sources through 2
        layers 0.986-0.987 against 0.995 (see the user guide).
    weight_decay : float, default=None
        L2 penalty on all parameters; ``None`` takes the preset's (0 for ``"fast"``, 1e-5
        for ``"paper"``).
    <training parameters>

    Attributes
    ----------
    n_components_ : int
        Number of features.
    <fitted attributes>
    module_ : torch.nn.Module
        The trained network (``module_.features`` is ``h``; ``module_.logits`` is ``r``).
    n_iter_ : int
        Optimiser steps taken.
    loss_curve_ : list of float
        Training loss, averaged every 100 steps.
    history_ : list of dict
        Per 100 steps: ``step``, ``loss``, ``accuracy``, ``lr``, ``time``.
    contrast_ : {"logistic", "infonce"}
        The task the model was trained with (``contrast="auto"`` resolved).
    discriminator_accuracy_ : float
        Accuracy of the trained discriminator on the training data (every real pair and as
        many permuted pairs); 0.5 is chance.

    See Also
    --------
    TCL : Time-contrastive learning, for nonstationary sources.
    FastICA : Linear ICA.

    Notes
    -----
    Identifiability needs temporal dependence: with i.i.d. sources real and permuted pairs
    have the same distribution and the features are arbitrary; a Gaussian AR process is
    not identifiable either. Score the features with a correlation against ``s`` itself
    (:func:`nlica.metrics.mean_corr_coef`, Pearson), as the paper does.

    Spare features: from 10 components on, the ``"fast"`` preset's network (not the
    linear model) is trained with one extra feature per 10 components. After training,
    the features most dependent on the others are set aside, one at a time, until
    ``n_components`` are left (dependence: the largest absolute correlation between the
    features, their absolute values and their squares); ``transform`` returns those, while
    the regression function, and so :meth:`score`, keeps every feature. Without spares a
    network at 20 sources tends to spend one feature on a function of many sources at
    once and to miss one source; see the user guide.

    References
    ----------
    A. Hyvärinen and H. Morioka, "Nonlinear ICA of temporally dependent stationary
    sources", AISTATS 2017.

    Examples
    --------
    >>> from nlica import PCL
    >>> from nlica.datasets import make_pcl_dataset
    >>> from nlica.metrics import mean_corr_coef
    >>> data = make_pcl_dataset(n_sources=2, n_layers=1, n_samples=4096, random_state=0)
    >>> pcl = PCL(max_iter=300, random_state=0)
    >>> S_est = pcl.fit_transform(data.X)
    >>> S_est.shape
    (4096, 2)
    >>> bool(mean_corr_coef(data.S, S_est) > 0.9)
    True
    """

    # Recordings need more than ``lag`` samples; _check_fit_params checks it (rather than
    # _min_run_length, a class constant) so that the error can name ``lag``.
    _min_run_length = 1

    _presets = _PRESETS
    _fits_decoder = True
    _parameter_docs = {
        "max_iter": "Optimiser steps; ``None`` takes the preset's ({max_iter}). For "
        '``"fast"`` the network\'s grow in proportion from 8000 at 2 components to 16 000 '
        "at 5 and more (5 sources through 4 layers: MCC 0.946 at 8000 steps, 0.961 at "
        "16 000; 10 sources through 2 layers: 0.91 and 0.99); the linear model's stay at "
        "8000.",
        "batch_size": "Real pairs per step (with the logistic contrast, as many permuted "
        "pairs are added); ``None`` "
        "takes the preset's ({batch_size}). Capped at the number of pairs in "
        "``X``.",
        "learning_rate": "Initial learning rate; ``None`` takes the preset's (1e-2 Adam "
        'for ``"fast"``, 0.1 SGD for ``"paper"``).',
        "n_init": "Training runs from different initialisations; the one with the lowest "
        "final training loss is kept. ``None``: one run; a network without spare "
        'features (below 10 components, or ``preset="paper"``) is restarted once (2 '
        "runs in all) if two of its features correlate by more than 0.3 in absolute "
        "value -- the signature of a known local optimum where two features track the "
        "same source.",
        "preset": 'Both use Xavier-uniform initialisation. ``"fast"``: Adam with cosine '
        "decay, 8000 steps (more for more components, see ``max_iter``) of 1024 + "
        "1024 pairs, hidden layers ``max(80, 4 * n_components)`` wide (about 160 s "
        "for 5 sources on a 2-core CPU). "
        '``"paper"``: the authors\' schedule -- SGD with momentum 0.9, learning '
        "rate 0.1 divided by 10 after each third of the 3e6 steps (of "
        "``max_iter``), weight decay 1e-5, 512 + 512 pairs and an exponential "
        "moving average of the weights (0.999); meant for a GPU.",
    }

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(numbers.Integral, 1, None, closed="left"),
            None,
        ],
        "lag": [Interval(numbers.Integral, 1, None, closed="left")],
        "contrast": [StrOptions({"auto", "logistic", "infonce"})],
    }

    def __init__(
        self,
        n_components=None,
        *,
        n_layers=2,
        hidden_layer_sizes=None,
        lag=1,
        contrast="auto",
        weight_decay=None,
        **training_parameters,
    ):
        self._store_parameters(locals())

    # -------------------------------------------------------------- parameters
    def _setting(self, name):
        if (
            name == "max_iter"
            and self.max_iter is None
            and self.preset == "fast"
            and not self._linear()
        ):
            # More sources need more steps: the "fast" preset's scaling rule, for the
            # network. The linear model (started from FastICA) did as well with 8000 as
            # with 16 000 at 20 components (held-out accuracy 0.967 both, linearly mixed
            # sources; EEG 0.970 and 0.969, blink 0.902 and 0.903).
            n = getattr(self, "n_components_", None) or _STEPS_PER_COMPONENTS[0]
            scale = min(max(n / _STEPS_PER_COMPONENTS[0], 1.0), _STEPS_PER_COMPONENTS[1])
            return int(round(_PRESETS["fast"]["max_iter"] * scale))
        return super()._setting(name)

    def _hidden_sizes(self, n_components):
        if self._linear():
            return []
        given = self._given_hidden_sizes()
        if given is not None:
            return given
        width = self._default_width(n_components)
        if self.preset == "paper":
            return [width] * (self.n_layers - 1) + [n_components]
        return [width] * self.n_layers

    # ------------------------------------------------------------------- hooks
    def _min_piece_rows(self):
        return max(super()._min_piece_rows(), 2 * self.lag)

    def _check_fit_params(self, X, runs, n_components, fit_params):
        self._hidden_sizes(n_components)
        lengths = np.bincount(runs)
        short = np.flatnonzero(lengths <= self.lag)
        if short.size == 0:
            return
        if lengths.size == 1:
            raise ValueError(
                f"X has {X.shape[0]} samples, too few for one (x_t, x_t-lag) pair with "
                f"lag={self.lag}; PCL needs more than lag samples per recording. Lower lag "
                "or give a longer recording."
            )
        k = int(short[0])
        raise ValueError(
            f"groups: recording piece {k} has {int(lengths[k])} sample(s), too few for one "
            f"(x_t, x_t-lag) pair with lag={self.lag} (PCL needs more than lag samples per "
            "recording); drop it, merge it with its neighbour, or lower lag."
        )

    def _contrast(self):
        """Return the contrastive task (``contrast="auto"`` resolved by ``n_components_``)."""
        if self.contrast != "auto":
            return self.contrast
        return "infonce" if self.n_components_ >= _INFONCE_FROM else "logistic"

    def _n_init(self):
        return _AUTO_MAX_INIT if self.n_init is None else int(self.n_init)

    def _restart_after(self, module, Z):
        if self.n_init is not None:
            return True  # exactly n_init runs, the lowest final loss kept
        if self._linear() or self._n_spare(self.n_components_):
            # The restart targets a local optimum of a network without spare features.
            # Features of the linear model correlate whatever its start wherever the data
            # are not a linear mixture of independent sources (nonlinear mixtures, EEG),
            # and so do a network's on EEG: there a restart only doubled the time. With
            # spares the network has features to spare for a missed source instead.
            return False
        # Automatic restarts: a known local optimum has two features tracking one source
        # (and another feature mixing two); their features are then strongly correlated,
        # while features of independent sources are not.
        with torch.no_grad():
            h = torch.cat(
                [
                    module.features(Z[i : i + CHUNK_ROWS])
                    for i in range(0, min(Z.shape[0], _RESTART_ROWS), CHUNK_ROWS)
                ]
            )
        h = self._output(h)  # the returned features, not the spares
        if h.shape[1] < 2 or h.shape[0] < 3:
            return False
        corr = torch.corrcoef(h.T.double()).abs().nan_to_num(0.0)
        corr.fill_diagonal_(0.0)
        return bool(corr.max() > _DEGENERATE_CORR)

    def _train_module(self, Z, runs, fit_params):
        # The linear model starts from FastICA of the training rows (set in _build_module).
        if self._linear() and self.preset == "fast":
            rows = Z[_thin(torch.arange(Z.shape[0], device=Z.device), _WARM_ROWS)]
            rows = rows.double().cpu().numpy()
            seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
            self._linear_start = _fastica_unmixing(rows, seed, _WARM_ITER)
        try:
            super()._train_module(Z, runs, fit_params)
        finally:
            self.__dict__.pop("_linear_start", None)

    def _n_spare(self, n_components):
        """Extra features trained and then left out of ``transform`` (``_SPARE_FROM``)."""
        if self._linear() or self.preset != "fast" or n_components < _SPARE_FROM:
            return 0
        return -(-n_components // _SPARE_PER)

    def _build_module(self, n_features, n_components):
        hidden = self._hidden_sizes(n_components)
        n_out = n_components + self._n_spare(n_components)
        net = PCLNet(n_features, hidden, n_out, init=self._setting("init"))
        start = getattr(self, "_linear_start", None)  # set only for the linear model
        if start is not None:
            with torch.no_grad():
                net.features.out.weight.copy_(torch.as_tensor(start))
        return self._attach_decoder(net, n_features, n_components, hidden)

    def _after_run(self, module, Z):
        n_out = module.w1.numel()
        if n_out == self.n_components_:
            return
        # Evenly spaced rows; the batch norm's running statistics standardise them (train()
        # leaves the module in eval mode).
        rows = _thin(torch.arange(Z.shape[0], device=Z.device), _DEPENDENCE_ROWS)
        with torch.no_grad():
            h = module.features(Z[rows])
        keep = _drop_dependent(h, self.n_components_)
        # The spares stay in r (score and mixing="auto" judge the whole network; without
        # them held-out accuracy fell from 0.97 to 0.69 at 20 sources) but go last, and
        # transform returns the first n_components features.
        module.reorder(keep + [i for i in range(n_out) if i not in keep])

    def _output(self, H):
        return H[:, : self.n_components_]

    def _prepare(self, Z, runs, generator, fit_params):
        sampler = PairSampler(runs, self.lag, 1, generator)
        sampler.batch_size = min(int(self._setting("batch_size")), sampler.n_pairs)
        widest = max([Z.shape[1], self.n_components_, *self._hidden_sizes(self.n_components_)])
        self._one_thread_if_small(Z, 3 * sampler.batch_size * 2 * widest)

        if self._contrast() == "infonce":
            # The other pairs of the batch are the negatives: no permuted rows to encode.
            def batch_fn():
                t, t_lag, _ = sampler.sample()
                return Z[torch.cat([t, t_lag])]

            return batch_fn

        def batch_fn():
            t, t_lag, t_neg = sampler.sample(negatives=True)
            return Z[torch.cat([t, t_lag, t_neg])]

        return batch_fn

    def _loss(self, module, batch):
        # Projection of the quadratic coefficients before each step's forward pass: the
        # same as clamping them after every optimiser step.
        module.project()
        if self._contrast() == "infonce":
            h_t, h_lag = module(batch).chunk(2)
            m = module
            loss, accuracy = pcl_infonce_loss(h_t, h_lag, m.w1, m.w2, m.b, m.a, m.m, _NCE_GROUP)
            return loss, {"accuracy": accuracy}
        # One forward pass over [x_t; x_lag; x_perm]: the batch statistics of the
        # batch-normalised output cover real and permuted samples alike.
        h = module(batch)
        h_t, h_lag, h_neg = h.chunk(3)
        loss, accuracy = pcl_loss(module.logits(h_t, h_lag), module.logits(h_t, h_neg))
        return loss, {"accuracy": accuracy}

    def _schedule(self, max_iter):
        if self._setting("schedule") != "step":
            return {}
        # The paper's x0.1 at 1e6 and 2e6 of 3e6 steps, scaled to max_iter.
        return {"milestones": (max_iter // 3, 2 * max_iter // 3)}

    def _after_fit(self, Z, runs, fit_params):
        self.contrast_ = self._contrast()
        self.module_.project()
        self.module_.recalibrate(Z, CHUNK_ROWS)
        net = self._net64()
        # Features of the sampled pairs only: bounded memory on long (memmapped) recordings.
        self.discriminator_accuracy_ = _pair_accuracy(
            net,
            lambda idx: self._encode(net, Z[idx].to(torch.float64)),
            runs,
            self.lag,
            max_pairs=_FIT_SCORE_PAIRS,
        )

    def _encode(self, module, Z):
        return module.features(Z)

    def _decode(self, module, S):
        return module.decoder(S)

    # --------------------------------------------------------------------- API
    @fill_doc({"series data": SERIES_DATA_DOC})
    def score(self, X, y=None, *, groups=None, sample_weight=None):
        """Accuracy of the trained discriminator on pairs of ``X``.

        As many real pairs ``(x_t, x_{t-lag})`` as ``X`` holds are drawn at random, each
        with a permuted pair ``(x_t, x_u)``, ``u`` a random time of the same recording
        (other than ``t - lag``). The draw uses a fixed seed, so different models are
        scored on the same pairs. Higher is better; 0.5 is chance. Useful for model
        selection, e.g. with :class:`~sklearn.model_selection.GridSearchCV` on held-out
        data.

        Parameters
        ----------
        <series data>
        groups : array-like of shape (n_samples,), default=None
            Recording label of each sample; ``None`` means one recording.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample ``t``, given to the two pairs that start at it (under
            metadata routing ``Pipeline.score`` always forwards it, so request it with
            ``set_score_request(sample_weight=True)``).

        Returns
        -------
        score : float
            Fraction of real and permuted pairs classified correctly (weighted).
        """
        X = self._validate_transform_data(X)
        runs = check_groups(groups, X.shape[0])
        self._check_fit_params(X, runs, self.n_components_, {})
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        if sample_weight is not None:
            sample_weight = torch.tensor(sample_weight, device=self.device_)
        net = self._net64()
        h = self._encode64(X, net=net)
        return _pair_accuracy(net, h.__getitem__, runs, self.lag, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def _pair_dependence(H):
    """Pairwise dependence of the columns of ``H``: a symmetric (k, k) matrix, zero diagonal.

    The largest absolute correlation between ``f(h_i)`` and ``g(h_j)`` over ``f, g`` in
    (identity, absolute value, square) of the standardised columns: zero for independent
    columns, and large for a column that copies another or is a function of many others
    (a sum of magnitudes correlates with the magnitude of each).
    """
    H = H.to(torch.float64)
    H = (H - H.mean(0)) / H.std(0).clamp_min(1e-12)
    views = []
    for f in (H, H.abs(), H.square()):
        f = f - f.mean(0)
        views.append(f / f.norm(dim=0).clamp_min(1e-12))
    D = torch.zeros(H.shape[1], H.shape[1], dtype=H.dtype, device=H.device)
    for a in views:
        for b in views:
            D = torch.maximum(D, (a.T @ b).abs())
    D = torch.maximum(D, D.T)
    D.fill_diagonal_(0.0)
    return D


def _drop_dependent(H, n_keep):
    """Return the indices (ascending) of the ``n_keep`` least dependent columns of ``H``.

    Columns are dropped one at a time, each time the one with the largest summed squared
    dependence (:func:`_pair_dependence`) on the others left. Features of independent
    sources are independent; a duplicate of another feature, or one that depends on many
    sources, is what ICA must not return.
    """
    keep = list(range(H.shape[1]))
    while len(keep) > n_keep:
        D = _pair_dependence(H[:, keep])
        keep.pop(int(D.square().sum(1).argmax()))
    return keep


def _pair_accuracy(module, features, runs, lag, sample_weight=None, max_pairs=None):
    """Discriminator accuracy on sampled real and permuted pairs.

    As many pairs as the data holds (at most ``max_pairs``) are drawn with replacement
    from a generator with a fixed seed, so the score is deterministic for given data.
    ``features(idx)`` returns the float64 features of the samples ``idx`` (an index
    tensor). ``sample_weight`` (a tensor) weighs each pair by the weight of its current
    sample ``t``.
    """
    device = next(module.parameters()).device
    generator = torch.Generator(device=device)
    generator.manual_seed(_SCORE_SEED)
    sampler = PairSampler(runs, lag, 1, generator)
    n_pairs = sampler.n_pairs if max_pairs is None else min(sampler.n_pairs, max_pairs)
    correct = torch.zeros((), dtype=torch.float64, device=device)
    total = torch.zeros((), dtype=torch.float64, device=device)
    with torch.no_grad():
        # Three rows (t, t - lag, permuted) per pair: a chunk of pairs is a chunk of rows.
        for start in range(0, n_pairs, CHUNK_ROWS // 3):
            sampler.batch_size = min(CHUNK_ROWS // 3, n_pairs - start)
            t, t_lag, t_neg = sampler.sample(negatives=True)
            h_t, h_lag, h_neg = features(torch.cat([t, t_lag, t_neg])).chunk(3)
            right = (module.logits(h_t, h_lag) > 0).double() + (
                module.logits(h_t, h_neg) < 0
            ).double()
            w = (
                torch.ones_like(right)
                if sample_weight is None
                else sample_weight[t].to(right.dtype)
            )
            correct += (w * right).sum() / 2
            total += w.sum()
    if float(total) == 0.0:
        raise ValueError("sample_weight is zero on every sampled pair; nothing to score.")
    return float(correct / total)
