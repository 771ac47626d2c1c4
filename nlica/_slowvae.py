"""SlowVAE: nonlinear ICA from sparse temporal transitions (Klindt et al., ICLR 2021).

A variational autoencoder is trained on consecutive pairs ``(x_{t-1}, x_t)`` of each
recording. The first frame's latent has the prior N(0, I); the second frame's latent has a
factorised Laplace prior centred on the first frame's posterior mean,
``p(z_t | z_{t-1}) = prod_i (rate / 2) exp(-rate |z_{t,i} - z_{t-1,i}|)``. Sparse (Laplace)
transitions of the true sources make the latent space identifiable up to permutation and
element-wise transforms; ``transform`` returns the posterior means.
"""

import math
import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._neural import CHUNK_ROWS, BaseNeuralICA, _fastica_unmixing
from ._neural_params import FAST_PRESET, SERIES_DATA_DOC
from ._rows import _thin
from .losses import bernoulli_nll, gaussian_nll, laplace_kl, normal_kl
from .nn.vae import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, SlowVAEModule
from .samplers import PairSampler
from .utils._docstrings import fill_doc
from .utils.validation import check_groups, validate_X

__all__ = ["SlowVAE"]

_PRESETS = {
    "fast": {
        **FAST_PRESET,
        "max_iter": 8000,
        "batch_size": 256,
        "learning_rate": 3e-3,
    },
    "paper": {
        "max_iter": 300_000,
        "batch_size": 32,
        "learning_rate": 1e-4,
        "n_init": 1,
        "weight_decay": 0.0,
        "optimizer": "adam",
        "schedule": "constant",
    },
}
_DEFAULT_HIDDEN = (128, 128)
# With max_iter=None under preset "fast", training stops after about _AUTO_EPOCHS passes
# over the pairs (8000 steps of 256 pairs at 2**15 frames, the preset's cap), and after no
# fewer than _MIN_AUTO_STEPS: a 30-row toy needs no 8000 steps of 256 pairs drawn from
# its 29 pairs.
_AUTO_EPOCHS = 64
_MIN_AUTO_STEPS = 200
# rate_prior="auto" measures the whitened step size on at most this many pairs, and keeps
# the rate within [_PAPER_RATE, _MAX_AUTO_RATE]; the paper's 6 for images. At 6 the
# decoder noise bound of max_decoder_scale="auto" is _PAPER_SCALE (the tuned value).
_STEP_PAIRS = 1 << 15
_MAX_AUTO_RATE = 100.0
_PAPER_RATE = 6.0
_PAPER_SCALE = 0.35
_MAX_STEP_FACTOR = 4.0
# Pairs per chunk in score: two frames each, so 8 row chunks.
_SCORE_PAIRS = 4 * CHUNK_ROWS
# The linear special case (mixing="linear", and the linear candidate of "auto") starts
# from FastICA (at most _WARM_ITER iterations on at most _WARM_ROWS pairs) of the
# whitened steps or of the whitened rows, at one of _WARM_SCALES: those of the lowest
# loss on _WARM_PAIRS pairs. Started there, one run of a quarter of the network's
# default step budget is enough (its held-out score no longer improves with more).
_WARM_ROWS = 1 << 16
_WARM_ITER = 500
_WARM_PAIRS = 1 << 12
_WARM_SCALES = tuple(2.0 ** (-k / 2) for k in range(7))
_LINEAR_STEP_SHARE = 0.25
# mixing="auto" keeps the network only if its held-out ELBO beats the linear model's by one
# standard error plus this many nats per latent (see _selection_margin).
_LINEAR_MARGIN = 0.15
# At most this many evenly spaced training rows fit inverse_transform's least-squares
# read-out.
_READOUT_ROWS = 1 << 16


class SlowVAE(BaseNeuralICA):
    """Slow variational autoencoder with a sparse (Laplace) transition prior.

    Fits a VAE to consecutive pairs ``(x_{t-1}, x_t)`` within each recording with the loss
    of Klindt et al. (2021)::

        recon(x_{t-1}) + recon(x_t) + beta * KL(q(z_{t-1}|x_{t-1}) || N(0, I))
            + gamma * KL(q(z_t|x_t) || Laplace(mu_{t-1}, 1 / rate))

    both KL terms in closed form (:func:`nlica.losses.normal_kl`,
    :func:`nlica.losses.laplace_kl`). With ``symmetric=True`` (the authors' code) each term
    is applied in both directions and halved, so that ``t-1`` and ``t`` play the same role.
    ``transform`` returns the posterior means; score them against the true sources with
    Spearman correlation (``mean_corr_coef(..., method="spearman")``): the model identifies
    the sources up to permutation and element-wise monotone maps.

    Vectors (``image_shape=None``) are PCA-whitened and modelled with an MLP encoder (with a
    full-covariance Gaussian posterior, ``posterior="full"``) and an MLP Gaussian decoder
    with a learned per-feature scale (bounded above by ``max_decoder_scale``). Images
    (``image_shape=(channels, size, size)``, rows of ``X`` the flattened frames in [0, 1])
    use the convolutional beta-VAE networks of the paper (the encoder's last layer also
    gives the Cholesky factor of a full posterior covariance, ``posterior="full"``) and a
    Bernoulli decoder; they are not whitened.

    ``inverse_transform`` decodes latents with the decoder mean; for vectors it then applies
    an affine map fitted by least squares from the decoded posterior means of the training
    rows to those rows. The ELBO-trained decoder shrinks what it decodes from posterior
    means (on EEG with 20 latents, a held-out R² of 0.858 without the map, 0.998 with it).
    :meth:`sample` uses the decoder alone, the generative model.

    Parameters
    ----------
    n_components : int, default=None
        Latent dimension; ``None`` means ``n_features`` for vectors and 10 (the paper's) for
        images. It may exceed ``n_features``: surplus latents are switched off by the prior.
        Fewer than ``n_features`` (vectors): ``X`` is first reduced by PCA to ``n_components``
        dimensions (as FastICA does; see ``explained_variance_ratio_``).
    hidden_layer_sizes : tuple of int, default=None
        Hidden widths of the MLP encoder and decoder (vectors); ``None`` means
        ``(128, 128)``.
        Ignored for images.
    image_shape : tuple of int, default=None
        ``(channels, size, size)`` of image frames, size 8, 16, 32 or 64 (64: the paper's
        network). ``None``: vector data.
    beta : float, default=1.0
        Weight of the KL divergence to N(0, I).
    gamma : float, default=10.0
        Weight of the KL divergence to the Laplace transition prior.
    rate_prior : float or "auto", default="auto"
        Rate ``lambda`` of the Laplace transition prior (the paper's 6). ``"auto"``: for
        vectors, the rate whose Laplace steps have the variance of the whitened data's
        steps, ``sqrt(2) / step_scale_``, kept within [6, 100] (6 for sources that move
        by a quarter of their standard deviation per step or more, 14 for ones that move
        by a tenth); for images, 6.
    learn_rate : bool, default=False
        Train one log-rate per latent (initialised at ``rate_prior``).
    symmetric : bool, default=True
        Apply both KL terms in both directions (the authors' implementation).
    posterior : {"full", "diagonal"}, default="full"
        Covariance of the Gaussian posterior: a full covariance from a Cholesky factor, or
        the paper's diagonal one. A diagonal posterior makes the KL terms favour decoders
        with orthogonal Jacobian columns, a pull that beats the sparse prior under
        nonlinear mixing; the full covariance removes it. Images too (sprite positions
        were recovered at a Spearman 0.81--0.83 with the diagonal posterior, 0.96--0.98
        with the full one; see the user guide).
    max_decoder_scale : float or "auto", default="auto"
        Upper bound of the Gaussian decoder's learned per-feature standard deviation, in
        whitened units. Unbounded, the scale grows to about 0.5 under ``gamma=10`` and the
        model explains structure away as noise; a bound far above the typical step lets
        the posterior noise hide the steps from the sparse prior; very small bounds make
        the problem stiff. ``"auto"``: ``0.35 * 6 / lambda`` (0.35 at the paper's
        ``lambda = 6``, in proportion to the Laplace scale ``1 / lambda``). ``None``:
        unbounded. Ignored by a Bernoulli decoder.
    kl_warmup : int, default=0
        Steps over which the KL weights rise linearly from 0 to ``beta`` and ``gamma``.
    activation : {"relu", "leaky_relu", "elu"}, default="leaky_relu"
        Hidden nonlinearity of the MLPs (leaky slope 0.2; the conv networks use ReLU).
    likelihood : {"auto", "gaussian", "bernoulli"}, default="auto"
        Decoder likelihood; ``"auto"``: Gaussian for vectors, Bernoulli for images.
    <training parameters>

    Attributes
    ----------
    n_components_ : int
        Latent dimension.
    module_ : SlowVAEModule
        The trained networks.
    <fitted attributes>
    step_scale_ : float or None
        Root mean square of a whitened step ``z_t - z_{t-1}`` per latent, over at most
        2**15 pairs (``None`` for images); it sets ``rate_prior="auto"``.
    n_iter_ : int
        Steps taken.
    loss_curve_ : list of float
        Mean loss per logging interval.
    history_ : list of dict
        Per-interval records (loss, reconstruction, KL terms, learning rate, time).

    See Also
    --------
    nlica.PCL : Permutation-contrastive learning, another temporal nonlinear ICA.

    References
    ----------
    D. Klindt, L. Schott, Y. Sharma, I. Ustyuzhaninov, W. Brendel, M. Bethge and D. Paiton,
    "Towards nonlinear disentanglement in natural data with temporal sparse coding",
    ICLR 2021.

    Examples
    --------
    >>> from nlica import SlowVAE
    >>> from nlica.datasets import make_slowvae_dataset
    >>> data = make_slowvae_dataset(2, n_samples=1000, random_state=0)
    >>> vae = SlowVAE(max_iter=50, random_state=0).fit(data.X)
    >>> vae.transform(data.X).shape
    (1000, 2)
    """

    _min_run_length = 2
    _presets = _PRESETS
    _parameter_docs = {
        "mixing": '``"nonlinear"``: the encoder and decoder as specified. '
        '``"linear"``: linear encoder and decoder (vectors only), started from FastICA '
        "of the whitened steps or of the whitened rows, whichever gives the lower loss, "
        "at the latent scale of lowest loss, and trained for a quarter of the "
        "network's default steps (one run: ``n_init`` does not apply). "
        '``"auto"`` (vectors of 1000 rows or more): fit both on 90% of the rows and '
        "keep the network only if its held-out ``score`` beats the linear model's by "
        "one standard error plus 0.15 nats per latent (``selected_model_``, "
        "``model_scores_``); a kept network is then retrained on all the rows, so it "
        'is the fit of ``"nonlinear"``. Images and fewer rows: ``"nonlinear"``.',
        "max_iter": "Optimiser steps; ``None``: the preset's rule (``preset``).",
        "batch_size": "Pairs per step; ``None`` takes the preset's ({batch_size}), at most "
        "the number of pairs.",
        "learning_rate": "Adam learning rate; ``None`` takes the preset's ({learning_rate}).",
        "preset": '``"fast"``: Adam 3e-3, 256 pairs, cosine decay, about 64 passes over '
        "the pairs, at least 200 and at most 8000 steps (under a minute on two CPU "
        "cores for 5 features and 2**15 frames), times ``lambda / 6`` (1 to 4) with "
        '``rate_prior="auto"``; ``max_iter`` or ``batch_size`` given replace the rule, '
        'and no batch has more pairs than the data. ``"paper"``: Adam 1e-4, '
        "32 pairs, 3e5 steps, constant rate.",
    }

    _parameter_constraints = {
        "image_shape": ["array-like", None],
        "beta": [Interval(numbers.Real, 0.0, None, closed="left")],
        "gamma": [Interval(numbers.Real, 0.0, None, closed="left")],
        "rate_prior": [Interval(numbers.Real, 0.0, None, closed="neither"), StrOptions({"auto"})],
        "learn_rate": ["boolean"],
        "symmetric": ["boolean"],
        "posterior": [StrOptions({"full", "diagonal"})],
        "max_decoder_scale": [
            Interval(numbers.Real, 0.0, None, closed="neither"),
            StrOptions({"auto"}),
            None,
        ],
        "kl_warmup": [Interval(numbers.Integral, 0, None, closed="left")],
        "activation": [StrOptions({"relu", "leaky_relu", "elu"})],
        "likelihood": [StrOptions({"auto", "gaussian", "bernoulli"})],
    }

    def __init__(
        self,
        n_components=None,
        *,
        hidden_layer_sizes=None,
        image_shape=None,
        beta=1.0,
        gamma=10.0,
        rate_prior="auto",
        learn_rate=False,
        symmetric=True,
        posterior="full",
        max_decoder_scale="auto",
        kl_warmup=0,
        activation="leaky_relu",
        likelihood="auto",
        **training_parameters,
    ):
        self._store_parameters(locals())

    # ------------------------------------------------------------------ helpers
    def _hidden(self):
        """Hidden layer widths of the MLP encoder and decoder (vectors)."""
        given = self._given_hidden_sizes()
        if self._linear():
            return ()
        return _DEFAULT_HIDDEN if given is None else tuple(given)

    def _selection_margin(self):
        # A flexible decoder buys some ELBO on linearly mixed data by reshaping heavy-
        # tailed marginals (EEG, 20 latents: at most 0.07 nats per latent on held-out
        # rows, which kept the network and lost the blink), far less than a nonlinear
        # mixing gives (2-layer MLPs, 5 latents: 0.37 to 0.51 nats per latent).
        return _LINEAR_MARGIN * self.n_components_

    def _refits_network(self):
        # A network trained on 90% of the rows is measurably worse on some walks (box,
        # seed 2: Spearman 0.955 -> 0.864), so the kept one is the network of all rows.
        return True

    def _linear_available(self):
        return not self._is_image()

    def _is_image(self):
        return self.image_shape is not None

    def _check_layout(self, X):
        # Images legitimately have more pixels than frames; vectors follow the common rule.
        if not self._is_image():
            super()._check_layout(X)

    def _likelihood(self):
        if self.likelihood != "auto":
            return self.likelihood
        return "bernoulli" if self._is_image() else "gaussian"

    def _image_shape(self, n_features):
        shape = tuple(int(v) for v in self.image_shape)
        if len(shape) != 3 or int(np.prod(shape)) != n_features:
            raise ValueError(
                f"image_shape={tuple(self.image_shape)} must be (channels, height, width) with "
                f"channels * height * width equal to the number of features of X "
                f"({n_features})."
            )
        return shape

    def _validate_fit_data(self, X, *, ensure_min_samples=2):
        X = validate_X(self, X, reset=True, ensure_min_samples=ensure_min_samples)
        if self.n_components is not None:
            n_components = int(self.n_components)
        else:
            n_components = 10 if self._is_image() else X.shape[1]
        if self._is_image():
            self._image_shape(X.shape[1])
        return X, n_components

    def _rate(self):
        """Return the Laplace rate: ``rate_prior``, or for "auto" sqrt(2) / the step size."""
        if self.rate_prior != "auto":
            return float(self.rate_prior)
        step = getattr(self, "step_scale_", None)
        if step is None or not step > 0:
            return _PAPER_RATE
        # A Laplace step of rate lambda has variance 2 / lambda**2. Faster sources keep
        # the paper's rate, which serves them well; slower ones get theirs.
        return float(np.clip(math.sqrt(2.0) / step, _PAPER_RATE, _MAX_AUTO_RATE))

    def _log_scale_bound(self):
        if self._likelihood() != "gaussian" or self.max_decoder_scale is None:
            return None
        if self.max_decoder_scale == "auto":
            # In proportion to the Laplace scale 1 / rate: the posterior noise that the
            # decoder's noise allows stays below the typical step, so the sparse prior
            # sees the steps.
            return math.log(_PAPER_SCALE * _PAPER_RATE / self._rate())
        return math.log(float(self.max_decoder_scale))

    # ------------------------------------------------------------ preprocessing
    def _whitens(self):
        # Vectors are PCA-whitened; image frames stay raw pixels.
        return not self._is_image()

    def _fit_whitener(self, X, n_components):
        super()._fit_whitener(X, n_components)
        # The root mean square of a whitened step (per latent) sets rate_prior="auto".
        self.step_scale_ = None
        # Needed only here: not kept in the fitted (saved) state.
        t = self.__dict__.pop("_step_rows")
        if self.whitening_ is None or t.size == 0:
            return
        cur = (np.asarray(X[t], dtype=np.float64) - self.mean_) @ self.whitening_.T
        prev = (np.asarray(X[t - 1], dtype=np.float64) - self.mean_) @ self.whitening_.T
        self.step_scale_ = float(np.sqrt(np.mean((cur - prev) ** 2)))

    # -------------------------------------------------------------------- hooks
    def _build_module(self, n_features, n_components):
        likelihood = self._likelihood()
        if self._is_image():
            shape = self._image_shape(n_features)
            encoder = ConvEncoder(shape, n_components, self.posterior == "full")
            decoder = ConvDecoder(shape, n_components)
        else:
            hidden = self._hidden()
            encoder = MLPEncoder(
                n_features,
                hidden,
                n_components,
                self.activation,
                full_covariance=self.posterior == "full",
            )
            decoder = MLPDecoder(n_components, hidden, n_features, self.activation)
        bound = self._log_scale_bound()
        init = 0.0 if bound is None else min(0.0, bound)
        module = SlowVAEModule(
            encoder,
            decoder,
            n_features,
            likelihood=likelihood,
            rate_prior=self._rate(),
            learn_rate=self.learn_rate,
            init_log_scale=init,
        )
        starts = getattr(self, "_warm_starts", None)
        if starts:
            self._warm_init(module, starts, init)
        return module

    def _set_linear(self, module, W, b, log_std):
        """Set the encoder mean to ``W z + b``, the decoder to its inverse.

        The posterior log-standard deviations start at ``log_std`` (the Cholesky factor's
        off-diagonal at zero); surplus latents (``n_components`` above the whitened
        dimension) start switched off.
        """
        encoder, decoder = module.encoder, module.decoder
        enc, dec = encoder.net[-1], decoder.net[-1]
        d, k = W.shape[0], encoder.n_latents
        A = np.linalg.pinv(W)
        with torch.no_grad():
            enc.weight.zero_()
            enc.bias.zero_()
            enc.weight[:d] = torch.as_tensor(W, dtype=enc.weight.dtype)
            enc.bias[:d] = torch.as_tensor(b, dtype=enc.bias.dtype)
            enc.bias[k : 2 * k] = 2.0 * log_std
            dec.weight.zero_()
            dec.weight[:, :d] = torch.as_tensor(A, dtype=dec.weight.dtype)
            dec.bias.copy_(torch.as_tensor(-A @ b, dtype=dec.bias.dtype))

    def _warm_init(self, module, starts, log_scale):
        """Start the linear special case at the best linear ICA unmixing and scale.

        The latents of each start have unit variance; the loss prefers smaller ones (the
        Laplace term shrinks them). The start, the scale of its latents and with it that
        of the posterior noise (among ``_WARM_SCALES``) are those of the lowest loss on
        the pairs kept in ``_warm_pairs`` (fixed posterior samples).
        """
        prev, cur = self._warm_pairs
        eps = torch.randn(
            (2 * cur.shape[0], module.encoder.n_latents),
            generator=torch.Generator().manual_seed(0),
        )
        best = None
        for W, b in starts:
            for c in _WARM_SCALES:
                self._set_linear(module, c * W, c * b, log_scale + math.log(c))
                with torch.no_grad():
                    recon, kl_n, kl_l = self._terms(module, prev, cur, eps)
                    loss = float((recon + self.beta * kl_n + self.gamma * kl_l).mean())
                if best is None or loss < best[0]:
                    best = (loss, c * W, c * b, log_scale + math.log(c))
        self._set_linear(module, *best[1:])

    def _setting(self, name):
        # batch_size=None: no batch larger than the pairs counted in fit; max_iter=None
        # under preset "fast": about _AUTO_EPOCHS passes over them (no fewer than
        # _MIN_AUTO_STEPS steps, no more than the preset's).
        value = super()._setting(name)
        pairs = getattr(self, "_fit_pairs", None)
        if not pairs or getattr(self, name, None) is not None:
            return value
        if name == "batch_size":
            return int(min(value, pairs))
        if name == "max_iter" and self.preset == "fast":
            steps = math.ceil(_AUTO_EPOCHS * pairs / int(self._setting("batch_size")))
            # Slower sources (a larger auto rate) get a smaller decoder noise bound, a
            # stiffer loss, and proportionally more steps (up to _MAX_STEP_FACTOR times).
            factor = 1.0
            if self.rate_prior == "auto":
                factor = min(self._rate() / _PAPER_RATE, _MAX_STEP_FACTOR)
            if self._linear():
                # The linear model starts from linear ICA: a share of the steps suffices.
                factor *= _LINEAR_STEP_SHARE
            return int(factor * min(value, max(_MIN_AUTO_STEPS, steps)))
        return value

    def _train_module(self, Z, runs, fit_params):
        # The linear special case starts from a linear ICA of the training rows (chosen
        # in _build_module, by _warm_init).
        if self._linear() and not self._is_image():
            self._warm_starts = self._linear_warm_starts(Z, runs)
        try:
            super()._train_module(Z, runs, fit_params)
        finally:
            self.__dict__.pop("_warm_starts", None)
            self.__dict__.pop("_warm_pairs", None)

    def _n_init(self):
        # A warm-started linear model is trained once: restarts would begin at the same
        # point.
        return 1 if getattr(self, "_warm_starts", None) else super()._n_init()

    def _linear_warm_starts(self, Z, runs):
        """Unmixings ``(W, b)`` of linear ICA of the whitened steps and of the rows.

        The linear special case is a linear ICA model of the steps ``z_t - z_{t-1}``
        (independent sparse steps), so FastICA of the steps is its natural start;
        FastICA of the rows themselves is the other (non-Gaussian sources). Each row of
        ``W`` is scaled to give latents of unit variance (the N(0, I) prior). At most
        ``_WARM_ROWS`` evenly spaced pairs are used; a start that FastICA cannot give
        (too few or degenerate rows) is left out.
        """
        t = np.flatnonzero(runs[1:] == runs[:-1]) + 1
        t = _thin(t, _WARM_ROWS)
        if t.size < 2 * Z.shape[1]:
            return []
        cur = Z[torch.as_tensor(t, device=Z.device)].double().cpu().numpy()
        prev = Z[torch.as_tensor(t - 1, device=Z.device)].double().cpu().numpy()
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        mean = cur.mean(axis=0)
        starts = []
        for rows in (cur - prev, cur):
            W = _fastica_unmixing(rows, seed, _WARM_ITER)
            if W is None:
                continue
            scale = (cur - mean).dot(W.T).std(axis=0)
            if np.all(scale > 0):
                W = W / scale[:, None]
                starts.append((W, -W @ mean))
        self._warm_pairs = (
            torch.as_tensor(_thin(prev, _WARM_PAIRS), dtype=torch.float32),
            torch.as_tensor(_thin(cur, _WARM_PAIRS), dtype=torch.float32),
        )
        return starts

    def _check_fit_params(self, X, runs, n_components, fit_params):
        self._hidden()  # validates hidden_layer_sizes before training
        # Consecutive pairs within recordings: the step budget of max_iter=None, and (at
        # most _STEP_PAIRS of them, evenly spaced) the step size of rate_prior="auto".
        t = np.flatnonzero(runs[1:] == runs[:-1]) + 1
        self._fit_pairs = int(t.size)
        self._step_rows = _thin(t, _STEP_PAIRS)
        if self._likelihood() == "bernoulli" and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                "likelihood='bernoulli' needs X in [0, 1] (binary frames); got values in "
                f"[{X.min():g}, {X.max():g}]. Use likelihood='gaussian'."
            )

    def _prepare(self, Z, runs, generator, fit_params):
        sampler = PairSampler(runs, 1, int(self._setting("batch_size")), generator)
        if not self._is_image():
            widest = max(Z.shape[1], 0, *self._hidden())
            self._one_thread_if_small(Z, 2 * sampler.batch_size * widest)
        n_latents = self.n_components_
        device = Z.device
        warmup = int(self.kl_warmup)
        step = [0]

        def batch_fn():
            t, t_prev, _ = sampler.sample()
            eps = torch.randn((2 * t.shape[0], n_latents), generator=generator, device=device)
            weight = 1.0
            if warmup:
                # A tensor, not a float: a compiled step would recompile for each value.
                weight = torch.tensor(min(1.0, (step[0] + 1) / warmup), device=device)
            step[0] += 1
            return Z[t_prev], Z[t], eps, weight

        return batch_fn

    def _terms(self, module, x_prev, x_cur, eps):
        """Per-pair reconstruction and KL terms (each of shape (batch,))."""
        n = x_prev.shape[0]
        x = torch.cat([x_prev, x_cur])
        mu, logvar, marginal, z = module.encode_sample(x, eps)
        out = module.decode(z)
        if module.likelihood == "gaussian":
            log_scale = module.log_scale
            bound = self._log_scale_bound()
            if bound is not None:
                log_scale = torch.clamp(log_scale, max=bound)
            nll = gaussian_nll(x, out, log_scale)
        else:
            nll = bernoulli_nll(x, out)
        recon = nll[:n] + nll[n:]
        mu0, mu1, lv0, lv1 = mu[:n], mu[n:], logvar[:n], logvar[n:]
        mv0, mv1 = (None, None) if marginal is None else (marginal[:n], marginal[n:])
        rate = torch.exp(module.log_rate)
        if self.symmetric:
            kl_normal = 0.5 * (normal_kl(mu0, lv0, mv0) + normal_kl(mu1, lv1, mv1)).sum(1)
            kl_laplace = 0.5 * (
                laplace_kl(mu1, lv1, mu0, rate, mv1) + laplace_kl(mu0, lv0, mu1, rate, mv0)
            ).sum(1)
        else:
            kl_normal = normal_kl(mu0, lv0, mv0).sum(1)
            kl_laplace = laplace_kl(mu1, lv1, mu0, rate, mv1).sum(1)
        return recon, kl_normal, kl_laplace

    def _loss(self, module, batch):
        x_prev, x_cur, eps, weight = batch
        recon, kl_normal, kl_laplace = self._terms(module, x_prev, x_cur, eps)
        recon, kl_normal, kl_laplace = recon.mean(), kl_normal.mean(), kl_laplace.mean()
        loss = recon + weight * (self.beta * kl_normal + self.gamma * kl_laplace)
        return loss, {"recon": recon, "kl_normal": kl_normal, "kl_laplace": kl_laplace}

    def _after_fit(self, Z, runs, fit_params):
        """Fit the least-squares read-out of ``inverse_transform`` (vectors).

        The Gaussian decoder is trained with the ELBO: it decodes the shrunken posterior
        means to shrunken rows and leaves the rest to its noise (on the EEG, 20 latents,
        held-out R² 0.858). An affine map of the decoded means, fitted by least squares to
        the whitened rows, undoes that (0.998 with the same latents); ``sample`` keeps the
        decoder alone, the generative model.
        """
        super()._after_fit(Z, runs, fit_params)
        self._readout = None
        if self._is_image():
            return
        # Fitted on the training rows only, so reconstruction_r2_ stays a held-out figure.
        train_idx, _ = self._split(runs, fit_params)
        rows = Z[torch.as_tensor(_thin(train_idx, _READOUT_ROWS), device=Z.device)]
        _, decoded = self._encode64(Z=rows, head=lambda net, h: net.decode(h))
        design = torch.cat([decoded, torch.ones_like(decoded[:, :1])], dim=1).cpu().numpy()
        target = rows.to(torch.float64).cpu().numpy()
        coef = np.linalg.lstsq(design, target, rcond=None)[0]
        self._readout = (coef[:-1], coef[-1])

    def _decode(self, module, S):
        out = module.decode(S)
        return torch.sigmoid(out) if module.likelihood == "bernoulli" else out

    def _read_out(self, out):
        readout = self.__dict__.get("_readout")
        if readout is None:
            return out
        A, c = (torch.as_tensor(v, dtype=out.dtype, device=out.device) for v in readout)
        return out @ A + c

    # ---------------------------------------------------------------- public API
    def sample(self, n_samples=1, random_state=None):
        """Draw samples from the generative model (z ~ N(0, I), decoder mean).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the latent draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Decoded samples.
        Z : ndarray of shape (n_samples, n_components)
            The latents.
        """
        self._check_is_fitted()
        rng = check_random_state(random_state)
        Z = rng.standard_normal((int(n_samples), self.n_components_))
        # The generative model: the decoder without inverse_transform's read-out.
        return self._inverse(Z, generative=True), Z

    def _pair_scores(self, X, groups=None):
        """Return the negative loss of each pair ``(t-1, t)`` within a recording, in order.

        The terms of :meth:`score`, before the mean (same fixed-seed posterior samples).
        """
        X = self._validate_transform_data(X)
        runs = check_groups(groups, X.shape[0], min_run_length=2)
        t = np.arange(1, X.shape[0])
        t = t[runs[t] == runs[t - 1]]
        gen = torch.Generator(device=self.device_).manual_seed(0)
        out = []
        with torch.no_grad():
            for start in range(0, t.shape[0], _SCORE_PAIRS):
                idx = t[start : start + _SCORE_PAIRS]
                x_cur = self._whitened_tensor(X[idx], self.device_)
                x_prev = self._whitened_tensor(X[idx - 1], self.device_)
                eps = torch.randn(
                    (2 * idx.shape[0], self.n_components_), generator=gen, device=self.device_
                )
                recon, kl_n, kl_l = self._terms(self.module_, x_prev, x_cur, eps)
                loss = recon + self.beta * kl_n + self.gamma * kl_l
                out.append(-loss.cpu().numpy().astype(np.float64))
        return np.concatenate(out) if out else np.empty(0)

    @fill_doc({"series data": SERIES_DATA_DOC})
    def score(self, X, y=None, groups=None):
        """Mean negative loss over the consecutive pairs of ``X`` (an ELBO if beta = gamma = 1).

        The posterior is sampled once per frame with a fixed seed, so the value is
        deterministic.

        Parameters
        ----------
        <series data>
        groups : array-like of shape (n_samples,), default=None
            Recording labels.

        Returns
        -------
        score : float
            Mean negative loss per pair (higher is better).
        """
        return float(np.mean(self._pair_scores(X, groups=groups)))
