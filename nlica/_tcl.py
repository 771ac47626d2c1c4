"""Time-contrastive learning (Hyvärinen & Morioka, NeurIPS 2016)."""

import numbers
import warnings

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ._fastica import FastICA
from ._neural import BaseNeuralICA
from ._neural_params import FAST_PRESET, SCORE_DATA_DOC
from ._selection import _MIN_HOLDOUT_ROWS
from .losses import tcl_loss
from .nn.contrastive import TCLNet
from .samplers import UniformSampler, cut_segments, encode_segments
from .utils._docstrings import fill_doc
from .utils.validation import (
    caller_stacklevel,
    check_groups,
    check_sample_weight,
    encode_known_labels,
    segment_runs,
)

__all__ = ["TCL"]

# Segment length of the paper; "auto" shortens it for short data so that X still gives
# at least _AUTO_MIN_SEGMENTS segments.
_PAPER_SEGMENT_LENGTH = 512
_AUTO_MIN_SEGMENTS = 16
# The "fast" preset's batch: _SAMPLES_PER_SEGMENT per segment, within _FAST_BATCH_RANGE.
_SAMPLES_PER_SEGMENT = 16
_FAST_BATCH_RANGE = (1024, 4096)
# The "fast" preset's network trains _FEW_COMPONENTS_STEPS steps below _FEW_COMPONENTS
# components (the linear model keeps the preset's 6000). At 5 sources through 4 layers
# (64 segments of 512, seed 2) hidden layers of 80 instead of 40 and 16 000 steps instead
# of 6000 raised the MCC from 0.831 to 0.953 (0.940 with the width alone, 0.949 with
# 12 000 steps); from 10 components on 6000 steps suffice (10 sources, 2 layers: 0.999).
_FEW_COMPONENTS = 10
_FEW_COMPONENTS_STEPS = 16_000

_PRESETS = {
    "fast": {
        **FAST_PRESET,
        "learning_rate": 3e-2,
        "width_factor": 8,
        # 8 * n_components is too narrow for 4- and 5-layer mixings of few sources (as
        # for PCL); the floor changes nothing from 10 components on.
        "min_width": 80,
        # The optimal classifier weights grow as 1 / (a segment's source scale), far from
        # their initial values; a logit scale lets Adam reach them within the budget.
        "logit_scale": 10.0,
    },
    # Hyvärinen & Morioka (2016); see the docs page "Settings of the papers".
    "paper": {
        "max_iter": 770_000,
        "batch_size": 512,
        "learning_rate": 1e-2,
        "weight_decay": 1e-4,
        "n_init": 1,
        "optimizer": "sgd",
        "momentum": 0.9,
        "schedule": "step",
        "step_gamma": 0.1,
        "ema_decay": 0.999,
        "width_factor": 2,
        "min_width": 1,
        "logit_scale": 1.0,
    },
}
# The paper's schedule as fractions of its 7.7e5 steps: 7e4 steps of the classifier alone,
# then all parameters, with the learning rate divided by 10 after 5e5 more steps.
_PAPER_FROZEN = 70_000 / 770_000
_PAPER_MILESTONE = 570_000 / 770_000


class TCL(BaseNeuralICA):
    """Time-contrastive learning: nonlinear ICA of nonstationary time series.

    A network ``h`` (maxout hidden layers, absolute-value outputs) is trained together with
    a linear classifier to tell from which time segment each sample comes. When the sources
    are independent and their variances change from segment to segment, the learned
    features are ``h(x) = A |s| + b`` for an invertible ``A``; linear ICA
    (:class:`~nlica.FastICA`) on the features then recovers ``|s_i|`` up to permutation,
    sign and scale (Hyvärinen & Morioka, 2016). Score the output against ``np.abs(S)``.

    Parameters
    ----------
    n_components : int, default=None
        Number of features and sources; ``None`` uses the number of features of ``X``. Fewer
        than ``n_features``: ``X`` is first reduced by PCA to ``n_components``
        dimensions (as FastICA does; see ``explained_variance_ratio_``).
    n_layers : int, default=3
        Affine layers of the feature network: ``n_layers - 1`` maxout hidden layers and a
        linear output layer followed by the absolute value. Take it at least as deep as
        the mixing (1 is linear features). Ignored when ``hidden_layer_sizes`` is given.
    hidden_layer_sizes : sequence of int, default=None
        Widths of the maxout hidden layers. ``None`` uses ``n_layers - 1`` layers of
        ``max(80, 8 * n_components)`` units (``preset="fast"``) or ``2 * n_components``
        units (``preset="paper"``, as in the paper).
    segment_length : int or "auto", default="auto"
        Samples per segment when ``fit`` gets no ``segments``: each recording (see
        ``groups``) is cut into consecutive segments of this length that never cross a
        recording boundary. ``"auto"`` is the paper's 512, shortened for data of fewer
        than 16 x 512 samples to ``max(2, n_samples // 16)`` so that short data still
        give about 16 segments.
    weight_decay : float, default=None
        L2 penalty on the weights (not the biases); ``None`` uses the preset's (0 for
        ``"fast"``, 1e-4 for ``"paper"``).
    ica_max_iter : int, default=1000
        Iterations of the FastICA run on the learned features.

    <training parameters>

    Attributes
    ----------
    n_components_ : int
        Number of features and estimated sources.
    n_segments_ : int
        Number of segments (classes) in ``fit``.
    segment_classes_ : ndarray
        The segment labels of ``fit`` in the order of the classifier's outputs (0, 1, ...
        when the segments were cut by ``segment_length``).
    segment_length_ : int or None
        The segment length used, or None when ``segments`` were given.
    classifier_accuracy_ : float
        Segment classification accuracy on the training data (chance is about
        ``1 / n_segments_``).
    ica_ : FastICA
        The linear ICA fitted on the training features.
    module_ : torch.nn.Module
        The trained network: ``module_.encoder`` (features) and ``module_.classifier``.
    <fitted attributes>
    n_iter_ : int
        Optimiser steps taken by the kept run.
    loss_curve_ : list of float
        Training loss of each logging interval.
    history_ : list of dict
        One record per logging interval: ``step``, ``loss``, ``accuracy``, ``lr``, ``time``.

    See Also
    --------
    PCL : Nonlinear ICA of temporally dependent stationary sources.
    FastICA : Linear ICA.

    Notes
    -----
    ``transform`` is applied sample by sample. Every segment should be long enough for
    its variance to be estimated (tens to hundreds of samples) and there should be many
    more segments than sources. Divergence raises
    :class:`~nlica.TrainingDivergedError`; lower ``learning_rate`` then.

    ``transform`` applies a float64 copy of the network, so each row's output does not
    depend on the rows it is batched with. Small networks train on one intra-op CPU
    thread (their kernels are too small to gain from more, and lose much on a busy
    machine); the thread count is restored after ``fit``.

    References
    ----------
    A. Hyvärinen and H. Morioka, "Unsupervised feature extraction by time-contrastive
    learning and nonlinear ICA", NeurIPS 2016.

    Examples
    --------
    >>> from nlica import TCL
    >>> from nlica.datasets import make_tcl_dataset
    >>> data = make_tcl_dataset(3, n_layers=2, n_segments=8, segment_length=64,
    ...                         random_state=0)
    >>> tcl = TCL(n_layers=2, max_iter=20, random_state=0, device="cpu")
    >>> S_est = tcl.fit(data.X, segments=data.segments).transform(data.X)
    >>> S_est.shape, tcl.n_segments_
    ((512, 3), 8)
    """

    _presets = _PRESETS
    _fits_decoder = True
    _parameter_docs = {
        "max_iter": "Optimiser steps; ``None`` takes the preset's ({max_iter}). For "
        '``"fast"`` the network trains 16 000 steps below 10 components (5 sources '
        "through 4 layers, hidden layers of 80: MCC 0.940 at 6000 steps, 0.953 at "
        "16 000); the linear model stays at 6000.",
        "batch_size": "Samples per step, drawn uniformly with replacement; ``None`` takes "
        "the preset's ({batch_size}), capped at the number of samples. For "
        '``"fast"`` that is 16 samples per segment, at least 1024 and at '
        "most 4096 (many segments need larger batches: with 256 segments, "
        "4096 raised the MCC at 20 sources from 0.87 to 0.92).",
        "n_iter_no_change": "Stop when the training loss, read every 100 steps, has not "
        "improved by ``tol`` for this many reads (a "
        "``ConvergenceWarning`` if ``max_iter`` comes first). ``None`` "
        "trains for ``max_iter`` steps, the default: the cosine "
        "schedule ends there.",
        "preset": '``"fast"``: Adam with cosine decay of the learning rate, wide hidden '
        "layers and logits scaled by 10 (the classifier weights grow as one over "
        "a segment's source scale; the factor lets Adam reach them in the "
        "budget); one to two minutes on a CPU core for 5 sources. "
        '``"paper"``: the authors\' schedule -- SGD with momentum 0.9, 7e4 steps '
        "of the classifier alone, then all "
        "parameters, the rate divided by 10 at step 5.7e5 of 7.7e5, an "
        "exponential moving average (0.999) of the weights, He-normal "
        "initialisation and ``[2n] * (n_layers - 1)`` hidden units. A smaller "
        "``max_iter`` shrinks that schedule proportionally.",
        "random_state": "Seeds the weights, the batches and the linear ICA. Same seed, "
        "same CPU result; the global torch RNG is left untouched.",
    }

    _parameter_constraints = {
        "segment_length": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "ica_max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_components=None,
        *,
        n_layers=3,
        hidden_layer_sizes=None,
        segment_length="auto",
        weight_decay=None,
        ica_max_iter=1000,
        **training_parameters,
    ):
        self._store_parameters(locals())

    # ------------------------------------------------------------------ settings
    def _setting(self, name):
        if name == "batch_size" and self.batch_size is None and self.preset == "fast":
            # About 16 samples of each segment per step, so every class's gradient is
            # estimated from several samples (the "fast" preset's scaling rule).
            n_segments = getattr(self, "n_segments_", 0)
            return int(np.clip(_SAMPLES_PER_SEGMENT * n_segments, *_FAST_BATCH_RANGE))
        if (
            name == "max_iter"
            and self.max_iter is None
            and self.preset == "fast"
            and not self._linear()
            and getattr(self, "n_components_", _FEW_COMPONENTS) < _FEW_COMPONENTS
        ):
            return _FEW_COMPONENTS_STEPS
        return super()._setting(name)

    def _resolve_segment_length(self, n_samples):
        if self.segment_length == "auto":
            return int(min(_PAPER_SEGMENT_LENGTH, max(2, n_samples // _AUTO_MIN_SEGMENTS)))
        return int(self.segment_length)

    # ---------------------------------------------------------------------- fit
    def fit(self, X, y=None, *, segments=None, groups=None):
        """Learn the features and the linear ICA on them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations, rows in time order (each row is one sample of every channel).
        y : Ignored
            Not used, present for API consistency; a ``y`` given without ``segments``
            warns, since segment labels go by keyword (``fit(X, segments=labels)``).
        segments : array-like of shape (n_samples,), default=None
            Segment label (the auxiliary variable) of each sample; each distinct label is
            one class. ``None`` cuts each recording into segments of ``segment_length``
            (with ``segment_length="auto"``, a warning says so).
        groups : array-like of shape (n_samples,), default=None
            Recording label of each sample; segments cut by ``segment_length`` never cross
            a recording boundary. ``None`` means one recording.

        Returns
        -------
        self : TCL
            The fitted estimator.
        """
        warned = False
        if y is not None and segments is None:
            # fit(X, labels) is the scikit-learn habit; here it would silently drop them.
            warnings.warn(
                "TCL.fit ignores y (its second positional argument): pass segment labels "
                "by keyword, fit(X, segments=labels). The segments are cut by "
                f"segment_length={self.segment_length!r} instead.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
            warned = True
        return self._fit_neural(X, groups, {"segments": segments, "warned": warned})

    def _check_fit_params(self, X, runs, n_components, fit_params):
        n_samples = X.shape[0]
        if fit_params["segments"] is not None:
            codes, classes = encode_segments(fit_params["segments"], n_samples)
            self.segment_length_ = None
        else:
            length = self._resolve_segment_length(n_samples)
            codes = cut_segments(runs, length)
            n_segments = int(codes[-1]) + 1
            if n_segments < 2:
                raise ValueError(
                    f"segment_length={self.segment_length!r} cuts X ({n_samples} samples in "
                    f"{int(runs[-1]) + 1} recording(s)) into {n_segments} segment; "
                    "time-contrastive learning needs at least 2. Pass segments, or a "
                    "smaller segment_length."
                )
            classes = np.arange(n_segments)
            self.segment_length_ = length
            if self.segment_length == "auto" and not fit_params.get("warned"):
                warnings.warn(
                    f"TCL cut X into {n_segments} segments of {length} samples "
                    "(segment_length='auto'): the segments are the classes it learns to "
                    "tell apart. Pass segments= (e.g. experimental conditions) or an "
                    "integer segment_length to choose them.",
                    UserWarning,
                    stacklevel=caller_stacklevel(),
                )
        batch_size = self.batch_size
        if batch_size is not None and batch_size > n_samples:
            raise ValueError(
                f"batch_size={batch_size} is larger than the number of samples of X "
                f"({n_samples}); choose batch_size <= {n_samples}."
            )
        self._hidden_sizes(n_components)  # validates hidden_layer_sizes before training
        fit_params["codes"] = codes
        self.n_segments_ = int(classes.shape[0])
        self.segment_classes_ = classes

    def _build_module(self, n_features, n_components):
        hidden = self._hidden_sizes(n_components)
        net = TCLNet(
            n_features,
            hidden,
            n_components,
            self.n_segments_,
            logit_scale=self._setting("logit_scale"),
        )
        return self._attach_decoder(net, n_features, n_components, hidden)

    def _prepare(self, Z, runs, generator, fit_params):
        labels = torch.as_tensor(fit_params["codes"], device=Z.device)
        batch = min(int(self._setting("batch_size")), Z.shape[0])
        widest = max([Z.shape[1], self.n_components_, *self._hidden_sizes(self.n_components_)])
        self._one_thread_if_small(Z, batch * 2 * widest)
        sampler = UniformSampler(Z.shape[0], batch, generator)

        def batch_fn():
            idx = sampler.sample()
            return Z[idx], labels[idx]

        return batch_fn

    def _loss(self, module, batch):
        x, labels = batch
        loss, accuracy = tcl_loss(module(x), labels)
        return loss, {"accuracy": accuracy}

    def _schedule(self, max_iter):
        if self.preset != "paper":
            return {}
        return {
            "milestones": (int(round(_PAPER_MILESTONE * max_iter)),),
            "frozen_steps": int(round(_PAPER_FROZEN * max_iter)),
        }

    def _train_kwargs(self, module):
        weights = [m.weight for m in module.modules() if isinstance(m, nn.Linear)]
        kwargs = {"decay_params": weights}
        if self.preset == "paper":
            kwargs["head_params"] = list(module.classifier.parameters())
        return kwargs

    def _encode(self, module, Z):
        # The linear special case's features are |w_i . z + b_i|; before the absolute value
        # they are A s + b, signed, and the ICA on them (as on the network's A |s| + b)
        # gives the signed sources.
        return module.encoder.out(Z) if self._linear() else module.encoder(Z)

    def _output(self, H):
        return self.ica_.transform(H)

    def _predict_segments(self, X=None, Z=None):
        """Float64 features and the predicted segment code of each row (as ndarrays)."""

        def head(net, h):
            return net.logits(h.abs() if self._linear() else h).argmax(dim=1)

        H, predicted = self._encode64(X, Z=Z, head=head)
        return H.cpu().numpy(), predicted.cpu().numpy()

    def _after_fit(self, Z, runs, fit_params):
        H, predicted = self._predict_segments(Z=Z)
        self.classifier_accuracy_ = float(np.mean(predicted == fit_params["codes"]))
        # Seeds for the ICA and the decoder from the same stream as the network seeds.
        self.ica_ = FastICA(
            whiten="unit-variance",
            max_iter=self.ica_max_iter,
            random_state=self._stream_seed(1),
            backend="numpy",
        ).fit(H)

    def _split(self, runs, fit_params):
        # The last tenth of every segment: each segment keeps rows on both sides, so the
        # held-out rows can be scored by segment, and they are contiguous, so that on
        # autocorrelated data (EEG) they are not the neighbours of training rows, which
        # would favour a network that memorises.
        n = runs.shape[0]
        if n < _MIN_HOLDOUT_ROWS:
            return np.arange(n), np.arange(0)
        starts, stops = segment_runs(fit_params["codes"], runs)
        lengths = stops - starts
        position = np.arange(n) - np.repeat(starts, lengths)
        held = position >= np.repeat(lengths - lengths // 10, lengths)
        rows = np.arange(n)
        return rows[~held], rows[held]

    def _subset_fit_params(self, fit_params, rows):
        return {**fit_params, "codes": fit_params["codes"][rows]}

    def _heldout_score(self, X, runs, fit_params, rows):
        return self.score(X, segments=self.segment_classes_[fit_params["codes"][rows]])

    def _decode(self, module, S):
        return module.decoder(S)

    # ---------------------------------------------------------------- transform
    def transform(self, X, ica=True):
        """Return the estimated sources (ICA of the features) or the raw features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data in the feature space seen in ``fit``.
        ica : bool, default=True
            Apply the linear ICA fitted on the training features. With False, return the
            features ``h(x)``, which equal ``A |s| + b`` for an unknown invertible ``A``.
            The linear model (``selected_model_ == "linear"``) keeps its features before
            the absolute value, ``W x + b = A s + b``: signed.

        Returns
        -------
        S : ndarray of shape (n_samples, n_components)
            Estimates of ``|s_i|`` up to permutation, sign and scale (or the features); of
            the signed ``s_i`` for the linear model. In ``X``'s float dtype.
        """
        return self._transform(X, raw=not ica)

    @fill_doc({"score data": SCORE_DATA_DOC})
    def score(self, X, y=None, *, segments=None, groups=None, sample_weight=None):
        """Segment classification accuracy of the trained classifier on ``X``.

        A held-out criterion for model selection (for example in
        :class:`~sklearn.model_selection.GridSearchCV`): higher is better.

        Parameters
        ----------
        <score data>
        segments : array-like of shape (n_samples,), default=None
            Segment labels, drawn from the labels seen in ``fit`` (``segment_classes_``).
            ``None`` cuts ``X`` by the fitted ``segment_length_``, which must give as many
            segments as in ``fit``.
        groups : array-like of shape (n_samples,), default=None
            Recording labels, used when ``segments`` is None.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the accuracy (as in scikit-learn's classifiers;
            under metadata routing, ``Pipeline.score`` always forwards it, so request it
            with ``set_score_request(sample_weight=True)``).

        Returns
        -------
        score : float
            Fraction of samples whose segment is predicted correctly (weighted).

        Warns
        -----
        UserWarning
            When ``segments`` is None and the classifier tells its training segments apart
            (``classifier_accuracy_`` above 1.5 times chance) but the accuracy on ``X``
            keeps less than a fifth of that gain over chance: ``X`` is then almost always
            new data cut into segments of its own, which the classifier never saw, and
            the score says nothing about the model. (Labels unseen in fit, passed as
            ``segments``, raise a ValueError.)
        """
        X = self._validate_transform_data(X)
        n_samples = X.shape[0]
        if segments is not None:
            codes = encode_known_labels(
                segments, self.segment_classes_, n_samples, knower="the classifier"
            )
        else:
            if self.segment_length_ is None:
                raise ValueError(
                    "this TCL was fitted with segments; pass the segments of X to score."
                )
            runs = check_groups(groups, n_samples)
            codes = cut_segments(runs, self.segment_length_)
            n_segments = int(codes[-1]) + 1
            if n_segments != self.n_segments_:
                raise ValueError(
                    f"segment_length_={self.segment_length_} cuts X into {n_segments} "
                    f"segment(s) but the classifier was trained on {self.n_segments_}; "
                    "pass segments with the labels seen in fit."
                )

        sample_weight = check_sample_weight(sample_weight, n_samples)
        _, predicted = self._predict_segments(X)
        accuracy = float(np.average(predicted == codes, weights=sample_weight))
        chance = 1.0 / self.n_segments_
        learned = getattr(self, "classifier_accuracy_", 1.0) - chance
        if segments is None and learned > 0.5 * chance and accuracy - chance < 0.2 * learned:
            # The classifier tells its training segments apart but not these: data cut
            # into segments of its own gets labels 0, 1, ... that name segments the
            # classifier never saw (unless X is the training data), and scores chance.
            warnings.warn(
                f"TCL.score is near chance ({accuracy:.3f}; chance {chance:.3f}, "
                f"{self.classifier_accuracy_:.3f} on the training data): X was cut by "
                "segment_length_, so label k names the k-th segment of this X, which is "
                "the k-th training segment only if X is the training data. Score "
                "held-out samples from within the training segments, passing their "
                "segments labels.",
                UserWarning,
                stacklevel=2,
            )
        return accuracy
