"""iVAE: the identifiable VAE (Khemakhem, Kingma, Monti & Hyvärinen, AISTATS 2020)."""

import math
import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._neural import CHUNK_ROWS, BaseNeuralICA
from ._neural_params import FAST_PRESET, SCORE_DATA_DOC, SERIES_DATA_DOC
from .losses import conditional_prior_kl, gaussian_nll
from .nn.ivae import IVAENet
from .samplers import UniformSampler, cut_segments, encode_segments
from .utils._docstrings import fill_doc
from .utils.validation import (
    check_array_2d,
    check_groups,
    check_sample_weight,
    encode_known_labels,
)

__all__ = ["IVAE"]

_PRESETS = {
    "fast": {
        **FAST_PRESET,
        "decoder_var": 0.01,
        "prior": "laplace",
        "width_factor": 8,
        "min_width": 32,
        "contrastive_weight": 10.0,
        "warm_start": 0.5,
        # Fraction of the warm start (its first steps) spent on the plain ELBO.
        "warm_elbo": 1 / 6,
    },
    # The authors' plain-ELBO variant (see the docs page "Settings of the papers").
    "paper": {
        "max_iter": 70_000,
        "batch_size": 256,
        "learning_rate": 1e-3,
        "weight_decay": 0.0,
        "n_init": 1,
        "optimizer": "adam",
        "schedule": "constant",
        "decoder_var": 0.01,
        "prior": "gaussian",
        "width_factor": 2,
        "min_width": 1,
        "contrastive_weight": 0.0,
        "warm_start": 0.0,
        "warm_elbo": 0.0,
    },
}
# Runs of the "fast" preset (n_init=None) for an encoder of 2 or more hidden layers: a
# run there sometimes ends in a fold (see warm_start), at a higher final loss than an
# unfolded run on the same data.
_DEEP_N_INIT = 2
# Seed of the posterior samples drawn by ``score``: scores of different fits on the same
# data use the same noise.
_SCORE_SEED = 0
# Decoder variance (whitened units) of the warm start's reconstruction term: a loose fit
# that leaves the classification term in charge of where the latents go.
_WARM_DECODER_VAR = 1.0
# Rows of a batch compared with each other by the contrastive term of a continuous ``u``.
_CONTRAST_ROWS = 256


def _prior_log_density(mu, prior_logvar, prior):
    """``log p(mu_r | u_j)`` for every row ``r`` and prior row ``j``: shape (batch, n_u).

    ``prior_logvar`` (n_u, n_latents) holds the prior's log-variances of ``n_u`` values of
    the auxiliary variable (the segment table, or the rows of the batch).
    """
    if prior == "laplace":
        # Variance 2 b^2 = exp(prior_logvar): density exp(-|z| / b) / (2 b).
        rate = math.sqrt(2.0) * torch.exp(-0.5 * prior_logvar)
        return -mu.abs() @ rate.T + torch.log(0.5 * rate).sum(dim=1)
    precision = torch.exp(-prior_logvar)
    return -0.5 * (mu.pow(2) @ precision.T) - 0.5 * (
        prior_logvar.sum(dim=1) + prior_logvar.shape[1] * math.log(2.0 * math.pi)
    )


class IVAE(BaseNeuralICA):
    """Identifiable VAE: nonlinear ICA with a prior conditioned on an auxiliary variable.

    The sources ``z`` have a factorised prior ``p(z | u) = prod_i N(0, exp(lambda_i(u)))``
    (or Laplace of that variance) whose variances change with an observed auxiliary
    variable ``u``: a segment label (a learned table of log-variances, one row per label)
    or a continuous variable (``lambda`` an MLP of ``u``). An encoder ``q(z | x)`` and a
    decoder ``p(x | z)`` (Gaussian, fixed variance) are trained by maximising the evidence
    lower bound (ELBO). With enough variation of the prior across ``u``, the encoder's
    posterior mean recovers the sources up to permutation and component-wise transforms
    (close to sign and scale when the prior is Gaussian) (Khemakhem et al., 2020).

    By default (``warm_start``, ``contrastive_weight``), training starts with a warm start
    that, after a few plain ELBO steps, trains the encoder's mean to classify ``u`` under
    the conditional prior while an autoencoder keeps it invertible, and keeps that
    classification term weighted in the ELBO afterwards: the ELBO alone, from a random
    start, often stops far from the sources through 3-layer mixings.

    The paper's encoder also sees ``u``; here it sees ``x`` only, so that ``transform(X)``
    needs no auxiliary variable. The identifiability comes from the conditional prior,
    which is unchanged.

    Read more in the :ref:`User Guide <ivae>`.

    Parameters
    ----------
    n_components : int, default=None
        Number of sources; ``None`` uses the number of features of ``X``.
    n_layers : int, default=3
        Affine layers of the encoder and the decoder (``n_layers - 1`` leaky-ReLU hidden
        layers, negative slope 0.1). Ignored when ``hidden_layer_sizes`` is given.
    hidden_layer_sizes : sequence of int, default=None
        Widths of the encoder's hidden layers (the decoder's mirror them). ``None``:
        ``n_layers - 1`` layers of ``max(32, 8 * n_components)`` units (``"fast"``) or
        ``2 * n_components`` (``"paper"``).
    prior : {"gaussian", "laplace"}, default=None
        Family of the conditional prior (zero mean, variance ``exp(lambda(u))``).
        ``None`` takes the preset's: ``"laplace"`` for ``"fast"`` (it matches
        heavy-tailed sources: on Laplace sources through a 2-layer MLP, MCC 0.91
        against 0.79 with the Gaussian), ``"gaussian"`` for ``"paper"``.
    decoder_var : float, default=None
        Fixed variance of the Gaussian decoder, in whitened units; ``None`` takes the
        preset's (0.01).
    segment_length : int, default=None
        When ``fit`` gets neither ``segments`` nor ``aux``: cut each recording into
        segments of this many samples and use them as ``segments``. ``None`` (default):
        ``fit`` requires ``segments`` or ``aux``.
    contrastive_weight : float, default=None
        Weight of a term ``-log p(u | mu)`` added to the loss: how well the posterior
        mean ``mu`` tells the auxiliary variable apart under the model's own conditional
        prior (Bayes' rule over the prior's table of segments: with the Laplace prior, a
        multinomial logistic regression on ``|mu|``, TCL's classifier; for a continuous
        ``u``, each row's ``u`` against those of 255 other rows of the batch). The term is
        part of the ELBO's ``log p(z | u)``; weighting it steers the search towards the
        sources through deep mixings (with ``warm_start=0.5``, 10 lifted the worst of
        six 3-layer cases from 0.54 to 0.80 and every 2-layer case above 0.99; see the
        User Guide). ``None`` takes the preset's (10 for ``"fast"``; 0, the plain ELBO, for
        ``"paper"``).
    warm_start : float, default=None
        Fraction of ``max_iter`` spent first on a warm start. Its first sixth (with the
        ``"fast"`` preset) trains the plain ELBO; the rest trains the encoder's mean and
        the decoder as a deterministic autoencoder (decoder variance 1 in whitened units)
        plus ``contrastive_weight`` times the contrastive term, without the KL term; the
        ELBO (plus the contrastive term) is trained for the remaining steps, with the
        same optimiser and schedule. The plain ELBO first gives the classification term
        an invertible code to shape: from the random start it often folds a source into
        a V-shaped latent whose sign another latent carries (``|z|`` classifies the
        segments as well as ``z``), which the later steps do not undo. In ``[0, 1)``;
        ``None`` takes the preset's (0.5 for ``"fast"``; 0, no warm start, for
        ``"paper"``).

    <training parameters>

    Attributes
    ----------
    n_components_ : int
        Number of sources.
    aux_kind_ : {"segments", "aux"}
        The auxiliary variable ``fit`` was given.
    n_segments_ : int or None
        Number of segment labels (``None`` with ``aux``).
    segment_classes_ : ndarray or None
        The segment labels of ``fit``, in the order of the prior's table.
    segment_length_ : int or None
        The segment length used when ``fit`` cut the segments itself.
    aux_mean_, aux_scale_ : ndarray of shape (n_aux,) or None
        Standardisation of ``aux`` before the prior network.
    module_ : torch.nn.Module
        The trained :class:`~nlica.nn.ivae.IVAENet`.
    <fitted attributes>
    n_iter_ : int
        Optimiser steps taken.
    loss_curve_ : list of float
        Training loss of each logging interval: the negative ELBO per sample plus
        ``contrastive_weight`` times the contrastive term (during the warm start, the
        loss of its phase: the plain ELBO, then the autoencoder's).
    history_ : list of dict
        One record per logging interval: ``step``, ``loss``, ``recon``, ``kl``,
        ``contrast`` (the mean ``-log p(u | mu)``, also while it is not trained),
        ``lr``, ``time``. During the warm start's autoencoder ``kl`` is 0 and ``recon``
        is that of the unit-variance decoder.

    See Also
    --------
    TCL : Time-contrastive learning, the discriminative method for the same data.
    SlowVAE : A VAE whose prior is conditioned on the previous time step.

    Notes
    -----
    ``transform`` returns the posterior mean of ``q(z | x)``, computed in float64.
    :meth:`score` and :meth:`sample` need the auxiliary variable, as ``fit`` does.
    Score the output against ``s`` with :func:`nlica.metrics.mean_corr_coef` (Pearson).

    References
    ----------
    I. Khemakhem, D. P. Kingma, R. P. Monti and A. Hyvärinen, "Variational autoencoders
    and nonlinear ICA: a unifying framework", AISTATS 2020.

    Examples
    --------
    A generative model: it encodes, decodes and samples given a segment.

    >>> from nlica import IVAE
    >>> from nlica.datasets import make_tcl_dataset
    >>> data = make_tcl_dataset(2, n_layers=1, n_segments=8, segment_length=64,
    ...                         random_state=0)
    >>> ivae = IVAE(max_iter=50, random_state=0, device="cpu")
    >>> ivae = ivae.fit(data.X, segments=data.segments)
    >>> S_est = ivae.transform(data.X)
    >>> ivae.inverse_transform(S_est).shape, ivae.n_segments_
    ((512, 2), 8)
    >>> X_new, Z_new = ivae.sample(4, segments=3, random_state=0)
    >>> X_new.shape, Z_new.shape
    ((4, 2), (4, 2))
    """

    _presets = _PRESETS
    _parameter_docs = {
        "mixing": '``"nonlinear"`` trains the MLPs; ``"linear"`` an encoder and decoder '
        'without hidden layers. ``"auto"`` (default) is ``"nonlinear"``: iVAE makes no '
        "held-out comparison with its linear special case.",
        "batch_size": "Samples per step, drawn uniformly with replacement; ``None`` takes "
        "the preset's ({batch_size}), capped at the number of samples.",
        "preset": '``"fast"``: Adam 1e-2 with cosine decay, 6000 steps of 1024 samples, '
        "hidden layers ``max(32, 8 * n_components)`` wide, a Laplace prior, half of the "
        "steps a contrastive warm start (its first sixth the plain ELBO), the contrastive "
        "term weighted 10, two runs with 2 or more hidden layers; 25 to 90 s for 5 "
        "sources and 32 768 samples (2 or 3 layers) on one core of a shared CPU. "
        '``"paper"``: the authors\' plain-ELBO variant -- Adam 1e-3 at a constant rate, '
        "7e4 steps of 256 samples, hidden layers ``2 * n_components`` wide, a Gaussian "
        "prior, decoder variance 0.01.",
        "n_init": "Training runs from different seeds; the one with the lowest final "
        'training loss is kept. ``None`` takes the preset\'s: for ``"fast"``, 2 with 2 or '
        "more hidden layers (``n_layers`` 3 or more), where a run sometimes ends in the fold "
        'described under ``warm_start`` at a higher loss, else 1; 1 for ``"paper"``.',
        "random_state": "Seeds the weights, the batches and the posterior samples. Same "
        "seed, same CPU result; the global torch RNG is left untouched.",
    }

    _parameter_constraints = {
        "prior": [StrOptions({"gaussian", "laplace"}), None],
        "decoder_var": [Interval(numbers.Real, 0.0, None, closed="neither"), None],
        "segment_length": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "contrastive_weight": [Interval(numbers.Real, 0.0, None, closed="left"), None],
        "warm_start": [Interval(numbers.Real, 0.0, 1.0, closed="left"), None],
    }

    def __init__(
        self,
        n_components=None,
        *,
        n_layers=3,
        hidden_layer_sizes=None,
        prior=None,
        decoder_var=None,
        segment_length=None,
        contrastive_weight=None,
        warm_start=None,
        **training_parameters,
    ):
        self._store_parameters(locals())

    # ------------------------------------------------------------------ settings
    def _selects_mixing(self):
        return False

    def _setting(self, name):
        if name == "n_init" and self.n_init is None and self.preset == "fast":
            # The "fast" preset's rule: a second run through deep networks.
            given = self._given_hidden_sizes()
            n_hidden = len(given) if given is not None else self.n_layers - 1
            return _DEEP_N_INIT if n_hidden >= 2 and not self._linear() else 1
        return super()._setting(name)

    # ----------------------------------------------------------------------- fit
    @fill_doc({"series data": SERIES_DATA_DOC})
    def fit(self, X, y=None, *, segments=None, aux=None, groups=None):
        """Fit the iVAE by maximising the ELBO.

        Parameters
        ----------
        <series data>
        segments : array-like of shape (n_samples,), default=None
            Discrete auxiliary variable: a label per sample (e.g. a segment or a
            condition); at least two distinct labels.
        aux : array-like of shape (n_samples,) or (n_samples, n_aux), default=None
            Continuous auxiliary variable. Exactly one of ``segments`` and ``aux`` must
            be given (unless ``segment_length`` is set, which then cuts segments).
        groups : array-like of shape (n_samples,), default=None
            Recording label of each sample (segments cut by ``segment_length`` never
            cross a recording). ``None`` means one recording.

        Returns
        -------
        self : IVAE
            The fitted estimator.
        """
        return self._fit_neural(X, groups, {"segments": segments, "aux": aux})

    def _auxiliary(self, n_samples, segments, aux, runs, fitting):
        """Check ``segments``/``aux`` and return ``u`` (codes or standardised floats)."""
        if segments is not None and aux is not None:
            raise ValueError(
                "IVAE takes one auxiliary variable: pass either segments (discrete labels) "
                "or aux (a continuous array), not both."
            )
        kind = "segments" if segments is not None else "aux" if aux is not None else None
        if kind is None:
            length = self.segment_length if fitting else getattr(self, "segment_length_", None)
            if length is None:
                raise ValueError(
                    "IVAE needs an auxiliary variable: pass segments= (one label per sample "
                    "of X) or aux= (an array of shape (n_samples,) or (n_samples, n_aux)), "
                    "or set segment_length to cut X into segments."
                )
            codes = cut_segments(runs, int(length))
            if fitting and codes[-1] < 1:
                raise ValueError(
                    f"segment_length={length} cuts X ({n_samples} samples) into 1 segment; "
                    "the prior needs at least 2. Pass segments or aux, or a smaller "
                    "segment_length."
                )
            if fitting:
                self.segment_length_ = int(length)
                self.n_segments_ = int(codes[-1]) + 1
                self.segment_classes_ = np.arange(self.n_segments_)
                self.aux_kind_ = "segments"
            elif self.aux_kind_ != "segments" or codes[-1] >= self.n_segments_:
                raise ValueError(
                    f"segment_length_={length} cuts X into {int(codes[-1]) + 1} segments "
                    f"but the model knows {self.n_segments_}; pass segments with the labels "
                    "seen in fit."
                )
            return codes
        if not fitting and kind != self.aux_kind_:
            raise ValueError(
                f"this IVAE was fitted with {self.aux_kind_}; pass {self.aux_kind_}, not {kind}."
            )
        if kind == "segments":
            if fitting:
                codes, classes = encode_segments(segments, n_samples)
                self.segment_length_ = None
                self.n_segments_ = int(classes.shape[0])
                self.segment_classes_ = classes
                self.aux_kind_ = "segments"
                return codes
            return self._segment_codes(segments, n_samples)
        u = check_array_2d(aux, name="aux")
        if u.shape[0] != n_samples:
            raise ValueError(
                f"aux has {u.shape[0]} rows but X has {n_samples} samples; give one row of "
                "the auxiliary variable per sample."
            )
        if not np.all(np.isfinite(u)):
            raise ValueError("aux contains NaN or infinity; give finite values.")
        if fitting:
            self.aux_kind_ = "aux"
            self.segment_length_ = None
            self.n_segments_ = None
            self.segment_classes_ = None
            self.aux_mean_ = u.mean(axis=0)
            std = u.std(axis=0)
            self.aux_scale_ = np.where(std > 0, std, 1.0)
        elif u.shape[1] != self.aux_mean_.shape[0]:
            raise ValueError(
                f"aux has {u.shape[1]} columns but the model was fitted with "
                f"{self.aux_mean_.shape[0]}."
            )
        return ((u - self.aux_mean_) / self.aux_scale_).astype(np.float32)

    def _segment_codes(self, segments, n_samples):
        return encode_known_labels(segments, self.segment_classes_, n_samples, knower="the prior")

    def _check_fit_params(self, X, runs, n_components, fit_params):
        self.aux_mean_ = self.aux_scale_ = None
        u = self._auxiliary(X.shape[0], fit_params["segments"], fit_params["aux"], runs, True)
        fit_params["u"] = u
        self._hidden_sizes(n_components)  # validates hidden_layer_sizes before training

    def _build_module(self, n_features, n_components):
        hidden = self._hidden_sizes(n_components)
        aux_width = None if self.aux_kind_ == "segments" else int(self.aux_mean_.shape[0])
        width = self._default_width(n_components)
        return IVAENet(
            n_features,
            n_components,
            hidden,
            n_segments=self.n_segments_ if aux_width is None else None,
            aux_features=aux_width,
            prior_hidden_sizes=[width] * max(self.n_layers - 1, 1),
            decoder_var=float(self._setting("decoder_var")),
        )

    def _u_tensor(self, u, device):
        if self.aux_kind_ == "segments":
            return torch.as_tensor(np.asarray(u, dtype=np.int64), device=device)
        return torch.as_tensor(u, device=device)

    def _prepare(self, Z, runs, generator, fit_params):
        u = self._u_tensor(fit_params["u"], Z.device)
        batch = min(int(self._setting("batch_size")), Z.shape[0])
        widest = max([Z.shape[1], 2 * self.n_components_, *self._hidden_sizes(self.n_components_)])
        self._one_thread_if_small(Z, batch * widest)
        sampler = UniformSampler(Z.shape[0], batch, generator)
        k = self.n_components_
        warm_steps = round(float(self._setting("warm_start")) * int(self._setting("max_iter")))
        elbo_steps = round(float(self._setting("warm_elbo")) * warm_steps)
        log_prior_u = None
        if u.dtype == torch.long:
            # Rows are drawn uniformly, so a segment's prior probability is its share of rows.
            counts = torch.bincount(u, minlength=self.n_segments_).to(torch.float32)
            log_prior_u = torch.log(counts.clamp(min=1.0) / u.shape[0])
        step = 0

        def batch_fn():
            nonlocal step
            step += 1
            idx = sampler.sample()
            # The posterior noise is drawn here, from the fit's generator.
            eps = torch.randn((batch, k), generator=generator, device=Z.device)
            # 0: the warm start's plain ELBO, 1: its autoencoder, 2: the weighted ELBO.
            phase = 0 if step <= elbo_steps else 1 if step <= warm_steps else 2
            return Z[idx], u[idx], eps, phase, log_prior_u

        return batch_fn

    def _elbo_terms(self, module, x, u, eps):
        """Per-row reconstruction NLL and KL to the conditional prior, and the mean."""
        mu, logvar = module.encode(x)
        z = mu + torch.exp(0.5 * logvar) * eps.to(mu.dtype)
        recon = gaussian_nll(x, module.decode(z), 0.5 * module.decoder_logvar)
        prior_logvar = module.prior_logvar(u if u.dtype == torch.long else u.to(mu.dtype))
        kl = conditional_prior_kl(mu, logvar, prior_logvar, self._setting("prior")).sum(dim=1)
        return recon, kl, mu

    def _contrast(self, module, mu, u, log_prior_u):
        """Mean of ``-log p(u | mu)`` under the model's conditional prior.

        For segments, Bayes' rule over the prior's table (a multinomial logistic
        regression on ``|mu|`` for the Laplace prior); for a continuous ``u``, the rows of
        the batch are the candidates, each row's own ``u`` the one to pick.
        """
        prior = self._setting("prior")
        if log_prior_u is not None:
            logits = _prior_log_density(mu, module.prior_table.weight.to(mu.dtype), prior)
            return torch.nn.functional.cross_entropy(logits + log_prior_u.to(mu.dtype), u)
        # The first rows of the (uniformly drawn) batch: the cost grows as their square.
        m = min(mu.shape[0], _CONTRAST_ROWS)
        logits = _prior_log_density(mu[:m], module.prior_logvar(u[:m].to(mu.dtype)), prior)
        target = torch.arange(m, device=mu.device)
        return torch.nn.functional.cross_entropy(logits, target)

    def _loss(self, module, batch):
        x, u, eps, phase, log_prior_u = batch
        weight = float(self._setting("contrastive_weight"))
        if phase == 1:
            # The warm start: a deterministic autoencoder whose code must tell the
            # segments apart under the prior's own densities; no KL term yet.
            mu = module.encode(x)[0]
            log_scale = torch.full((), 0.5 * math.log(_WARM_DECODER_VAR), dtype=x.dtype)
            recon = gaussian_nll(x, module.decode(mu), log_scale.to(x.device)).mean()
            kl = torch.zeros((), dtype=x.dtype, device=x.device)
        else:
            recon, kl, mu = self._elbo_terms(module, x, u, eps)
            recon, kl = recon.mean(), kl.mean()
        loss = recon + kl
        if weight > 0 and phase == 0:
            # The plain ELBO first: from the random start, the classification term alone
            # often folds a source into a V whose sign another latent carries (|z|
            # classifies as well as z), which the later steps do not undo; after a few
            # ELBO steps (an invertible code, its marginals pulled to the prior) it
            # rarely does. Logged, not trained.
            contrast = self._contrast(module, mu.detach(), u, log_prior_u)
        elif weight > 0:
            contrast = self._contrast(module, mu, u, log_prior_u)
            loss = loss + weight * contrast
        else:
            contrast = torch.zeros((), dtype=x.dtype, device=x.device)
        return loss, {"recon": recon, "kl": kl, "contrast": contrast}

    def _encode(self, module, Z):
        return module.encode(Z)[0]

    def _decode(self, module, S):
        return module.decode(S)

    # ---------------------------------------------------------------- public API
    @fill_doc({"score data": SCORE_DATA_DOC})
    def score(self, X, y=None, *, segments=None, aux=None, groups=None, sample_weight=None):
        """Mean evidence lower bound (ELBO) per sample of ``X``; higher is better.

        One posterior sample per row, drawn with a fixed seed, so the value is
        deterministic and different models are scored with the same noise. The ELBO is
        that of the whitened data (a constant shift from ``X``'s units).

        Parameters
        ----------
        <score data>
        segments : array-like of shape (n_samples,), default=None
            Segment labels of ``X`` (labels seen in ``fit``), for a model fitted with
            segments.
        aux : array-like of shape (n_samples,) or (n_samples, n_aux), default=None
            Continuous auxiliary variable of ``X``, for a model fitted with ``aux``.
        groups : array-like of shape (n_samples,), default=None
            Recording labels, used when the segments are cut by ``segment_length_``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the mean.

        Returns
        -------
        score : float
            Weighted mean ELBO per sample.
        """
        X = self._validate_transform_data(X)
        n = X.shape[0]
        runs = check_groups(groups, n)
        u = self._auxiliary(n, segments, aux, runs, False)
        sample_weight = check_sample_weight(sample_weight, n)
        net = self._net64()
        gen = torch.Generator(device=self.device_).manual_seed(_SCORE_SEED)
        out = []
        with torch.no_grad():
            for start, x in zip(range(0, n, CHUNK_ROWS), self._whitened_blocks64(X)):
                ub = self._u_tensor(u[start : start + CHUNK_ROWS], self.device_)
                if ub.dtype != torch.long:
                    ub = ub.to(torch.float64)
                eps = torch.randn(
                    (x.shape[0], self.n_components_), generator=gen, device=self.device_
                )
                recon, kl, _ = self._elbo_terms(net, x, ub, eps.to(torch.float64))
                out.append((-(recon + kl)).cpu().numpy())
        elbo = np.concatenate(out)
        return float(np.average(elbo, weights=sample_weight))

    def sample(self, n_samples=1, *, segments=None, aux=None, random_state=None):
        """Draw samples from the generative model: ``z ~ p(z | u)``, ``x`` the decoder mean.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        segments : label or array-like of shape (n_samples,), default=None
            The segment label of the samples (one label for all, or one per sample), for
            a model fitted with segments.
        aux : array-like of shape (n_aux,) or (n_samples, n_aux), default=None
            The auxiliary variable (one value for all, or one row per sample), for a
            model fitted with ``aux``.
        random_state : int, RandomState instance or None, default=None
            Seed of the latent draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Decoded samples, in the units of ``X``.
        Z : ndarray of shape (n_samples, n_components)
            The latents.

        Examples
        --------
        Sources whose scales change from segment to segment, then new draws given a
        segment:

        >>> import numpy as np
        >>> from nlica import IVAE
        >>> rng = np.random.default_rng(0)
        >>> labels = np.repeat(np.arange(4), 100)
        >>> X = rng.laplace(size=(400, 2)) * rng.uniform(0.2, 2.0, size=(4, 2))[labels]
        >>> ivae = IVAE(max_iter=20, random_state=0, device="cpu").fit(X, segments=labels)
        >>> X_new, Z_new = ivae.sample(3, segments=[0, 1, 1], random_state=0)
        >>> X_new.shape, Z_new.shape
        ((3, 2), (3, 2))
        """
        self._check_is_fitted()
        n_samples = int(n_samples)
        if n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer; got {n_samples}.")
        runs = np.zeros(n_samples, dtype=np.int64)
        if segments is not None and np.ndim(segments) == 0:
            segments = np.repeat(np.asarray(segments)[None], n_samples)
        if aux is not None and self.aux_kind_ == "aux":
            a = np.asarray(aux, dtype=np.float64)
            if a.ndim == 1 and a.shape[0] == self.aux_mean_.shape[0] and n_samples > 1:
                aux = np.repeat(a[None], n_samples, axis=0)
            elif a.ndim == 0:
                aux = np.full(n_samples, float(a))
        if segments is None and aux is None:
            raise ValueError("sample needs segments= or aux=, the auxiliary variable of the draw.")
        u = self._auxiliary(n_samples, segments, aux, runs, False)
        ub = self._u_tensor(u, self.device_)
        with torch.no_grad():
            logvar = self.module_.prior_logvar(ub).double().cpu().numpy()
        rng = check_random_state(random_state)
        scale = np.exp(0.5 * logvar)
        if self._setting("prior") == "laplace":
            Z = rng.laplace(0.0, 1.0 / np.sqrt(2.0), size=scale.shape) * scale
        else:
            Z = rng.standard_normal(scale.shape) * scale
        return self._inverse(Z, generative=True), Z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
