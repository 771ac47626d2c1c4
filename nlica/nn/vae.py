"""Variational autoencoder modules of SlowVAE (Klindt et al., ICLR 2021).

Two families share one interface, ``encode(x) -> (mu, logvar)`` and
``decode(z) -> mean or logits``:

* vectors: MLP encoder and decoder (:class:`MLPEncoder`, :class:`MLPDecoder`);
* images: the convolutional encoder and decoder of the beta-VAE family used by the paper
  for 64x64 frames (:class:`ConvEncoder`, :class:`ConvDecoder`): 4x4 stride-2 convolutions
  with 32, 32, 64, 64 channels, a 4x4 convolution to 256 units and a linear layer to
  ``2 * n_latents``; the decoder mirrors it with transposed convolutions. Smaller square
  frames of side ``4 * 2**k`` (8, 16, 32) use the first ``k`` stride-2 layers.

:class:`SlowVAEModule` holds an encoder, a decoder, the Gaussian decoder's learned
per-feature log-scale and the (optionally learned) log-rate of the Laplace transition prior.
"""

import math

import torch
from torch import nn

from .modules import mlp

__all__ = ["MLPEncoder", "MLPDecoder", "ConvEncoder", "ConvDecoder", "SlowVAEModule"]

_CONV_CHANNELS = (32, 32, 64, 64)


def _activation(name):
    if name == "relu":
        return nn.ReLU
    if name == "leaky_relu":
        return lambda: nn.LeakyReLU(0.2)
    if name == "elu":
        return nn.ELU
    raise ValueError(f"activation must be 'relu', 'leaky_relu' or 'elu'; got {name!r}.")


class _Encoder(nn.Module):
    """An encoder: ``encode(x) -> (mu, logvar)``; calling it gives the posterior mean.

    Subclasses set ``n_latents`` and ``full_covariance`` and define ``_head(x)``, the
    network output whose first ``2 * n_latents`` columns are the posterior mean and
    log-variance, followed (if ``full_covariance``) by the Cholesky factor's strictly lower
    entries.
    """

    @staticmethod
    def _n_outputs(n_latents, full_covariance):
        k = int(n_latents)
        return 2 * k + (k * (k - 1) // 2 if full_covariance else 0)

    def encode(self, x):
        """Return the posterior parameters.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Input (flattened frames for images).

        Returns
        -------
        mu, logvar : torch.Tensor of shape (batch, n_latents)
            Mean and log-variance of the Gaussian posterior.
        """
        h = self._head(x)
        k = self.n_latents
        return h[:, :k], h[:, k : 2 * k]

    def encode_full(self, x):
        """Return the posterior mean, log-variances and Cholesky off-diagonal.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Input.

        Returns
        -------
        mu, logvar : torch.Tensor of shape (batch, n_latents)
            Mean and log squared diagonal of the Cholesky factor ``L`` of the posterior
            covariance ``L L^T`` (the log-variances when the posterior is diagonal).
        lower : torch.Tensor of shape (batch, n_latents * (n_latents - 1) / 2) or None
            Strictly lower entries of ``L`` in :func:`torch.tril_indices` order (``None``
            for a diagonal posterior).
        """
        h = self._head(x)
        k = self.n_latents
        lower = h[:, 2 * k :] if self.full_covariance else None
        return h[:, :k], h[:, k : 2 * k], lower

    def forward(self, x):
        """Return the posterior mean of ``x``, shape (batch, n_latents) (see ``encode``)."""
        return self.encode(x)[0]


class MLPEncoder(_Encoder):
    """MLP from features to the posterior mean and log-variance.

    Parameters
    ----------
    in_features : int
        Input width.
    hidden_layer_sizes : sequence of int
        Hidden widths.
    n_latents : int
        Latent dimension.
    activation : {"relu", "leaky_relu", "elu"}, default="relu"
        Hidden nonlinearity (leaky slope 0.2).
    full_covariance : bool, default=False
        Also output the ``n_latents * (n_latents - 1) / 2`` strictly lower entries of the
        Cholesky factor of a full posterior covariance (see :meth:`encode_full`).

    Examples
    --------
    >>> mu, logvar = MLPEncoder(3, [8], 2).encode(torch.zeros(4, 3))
    >>> mu.shape, logvar.shape
    (torch.Size([4, 2]), torch.Size([4, 2]))
    """

    def __init__(
        self, in_features, hidden_layer_sizes, n_latents, activation="relu", full_covariance=False
    ):
        super().__init__()
        self.n_latents = int(n_latents)
        self.full_covariance = bool(full_covariance)
        n_out = self._n_outputs(self.n_latents, self.full_covariance)
        self.net = mlp(in_features, hidden_layer_sizes, n_out, _activation(activation))

    def _head(self, x):
        return self.net(x)


class MLPDecoder(nn.Module):
    """MLP from latents to the mean of the reconstruction.

    Parameters
    ----------
    n_latents : int
        Latent dimension.
    hidden_layer_sizes : sequence of int
        Hidden widths.
    out_features : int
        Output width.
    activation : {"relu", "leaky_relu", "elu"}, default="relu"
        Hidden nonlinearity.

    Examples
    --------
    >>> MLPDecoder(2, [8], 3)(torch.zeros(4, 2)).shape
    torch.Size([4, 3])
    """

    def __init__(self, n_latents, hidden_layer_sizes, out_features, activation="relu"):
        super().__init__()
        self.net = mlp(n_latents, hidden_layer_sizes, out_features, _activation(activation))

    def forward(self, z):
        """Return the reconstruction means of latents ``z``, shape (batch, out_features)."""
        return self.net(z)


def _n_strided(image_shape):
    channels, height, width = (int(v) for v in image_shape)
    if height != width or height not in (8, 16, 32, 64):
        raise ValueError(
            f"image_shape must be (channels, size, size) with size 8, 16, 32 or 64; got "
            f"{tuple(image_shape)}."
        )
    return int(round(math.log2(height))) - 2


class ConvEncoder(_Encoder):
    """Convolutional encoder of the beta-VAE family (4x4 stride-2 convolutions).

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, size, size)`` with size 8, 16, 32 or 64 (64: the paper's network).
    n_latents : int
        Latent dimension.
    full_covariance : bool, default=False
        Also output the Cholesky factor's strictly lower entries of a full posterior
        covariance (see :meth:`encode_full`); the paper's posterior is diagonal.

    Examples
    --------
    >>> enc = ConvEncoder((1, 16, 16), 3)
    >>> enc(torch.zeros(2, 256)).shape
    torch.Size([2, 3])
    """

    def __init__(self, image_shape, n_latents, full_covariance=False):
        super().__init__()
        self.image_shape = tuple(int(v) for v in image_shape)
        self.n_latents = int(n_latents)
        self.full_covariance = bool(full_covariance)
        n = _n_strided(self.image_shape)
        layers = []
        ch = self.image_shape[0]
        for out in _CONV_CHANNELS[:n]:
            layers += [nn.Conv2d(ch, out, 4, stride=2, padding=1), nn.ReLU()]
            ch = out
        layers += [
            nn.Conv2d(ch, 256, 4),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(256, self._n_outputs(self.n_latents, self.full_covariance)),
        ]
        self.net = nn.Sequential(*layers)

    def _head(self, x):
        return self.net(x.view(x.shape[0], *self.image_shape))


class ConvDecoder(nn.Module):
    """Transposed-convolution decoder mirroring :class:`ConvEncoder`.

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, size, size)`` with size 8, 16, 32 or 64.
    n_latents : int
        Latent dimension.

    Examples
    --------
    >>> ConvDecoder((1, 16, 16), 3)(torch.zeros(2, 3)).shape
    torch.Size([2, 256])
    """

    def __init__(self, image_shape, n_latents):
        super().__init__()
        self.image_shape = tuple(int(v) for v in image_shape)
        n = _n_strided(self.image_shape)
        chans = list(_CONV_CHANNELS[:n])[::-1]
        layers = [nn.Linear(int(n_latents), 256), nn.ReLU(), nn.Unflatten(1, (256, 1, 1))]
        outs = chans + [self.image_shape[0]]
        layers += [nn.ConvTranspose2d(256, outs[0], 4)]
        for i in range(n):
            layers += [nn.ReLU(), nn.ConvTranspose2d(outs[i], outs[i + 1], 4, stride=2, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        """Return flattened frames (logits or means) of latents ``z``, one row each."""
        return self.net(z).flatten(1)


class SlowVAEModule(nn.Module):
    """Encoder, decoder, decoder scale and transition rate of a SlowVAE.

    Parameters
    ----------
    encoder : nn.Module
        Has ``encode(x) -> (mu, logvar)``.
    decoder : nn.Module
        Maps latents to reconstruction means (Gaussian) or logits (Bernoulli).
    n_features : int
        Width of the flattened input.
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Decoder likelihood; the Gaussian one has a learned per-feature log-scale.
    rate_prior : float, default=6.0
        Initial rate of the Laplace transition prior.
    learn_rate : bool, default=False
        Whether the per-latent log-rate is trained.
    init_log_scale : float, default=0.0
        Initial log-scale of the Gaussian decoder.

    Examples
    --------
    >>> m = SlowVAEModule(MLPEncoder(3, [8], 2), MLPDecoder(2, [8], 3), 3)
    >>> m(torch.zeros(4, 3)).shape
    torch.Size([4, 2])
    """

    def __init__(
        self,
        encoder,
        decoder,
        n_features,
        *,
        likelihood="gaussian",
        rate_prior=6.0,
        learn_rate=False,
        init_log_scale=0.0,
    ):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        n_latents = encoder.n_latents
        self.log_scale = nn.Parameter(
            torch.full((int(n_features),), float(init_log_scale)),
            requires_grad=likelihood == "gaussian",
        )
        self.log_rate = nn.Parameter(
            torch.full((n_latents,), math.log(float(rate_prior))), requires_grad=bool(learn_rate)
        )

    def encode(self, x):
        """Return the posterior mean and log-variance of ``x`` (the encoder's ``encode``)."""
        return self.encoder.encode(x)

    def encode_sample(self, x, eps):
        """Posterior parameters and a reparameterised sample.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Input.
        eps : torch.Tensor of shape (batch, n_latents)
            Standard normal noise.

        Returns
        -------
        mu, logvar : torch.Tensor of shape (batch, n_latents)
            Posterior mean and log-variances (log squared Cholesky diagonal).
        marginal_var : torch.Tensor of shape (batch, n_latents) or None
            Diagonal of a full posterior covariance (``None`` if it is diagonal).
        z : torch.Tensor of shape (batch, n_latents)
            ``mu + L eps``.
        """
        if hasattr(self.encoder, "encode_full"):
            mu, logvar, lower = self.encoder.encode_full(x)
        else:
            (mu, logvar), lower = self.encoder.encode(x), None
        std = torch.exp(0.5 * logvar)
        if lower is None:
            return mu, logvar, None, mu + eps * std
        k = mu.shape[1]
        rows, cols = torch.tril_indices(k, k, -1, device=mu.device)
        chol = mu.new_zeros(mu.shape[0], k, k)
        chol[:, rows, cols] = lower
        chol = chol + torch.diag_embed(std)
        z = mu + (chol @ eps.unsqueeze(-1)).squeeze(-1)
        return mu, logvar, chol.pow(2).sum(-1), z

    def decode(self, z):
        """Reconstruction mean (Gaussian) or logits (Bernoulli).

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_latents)
            Latents.

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            Decoder output.
        """
        return self.decoder(z)

    def forward(self, x):
        """Return the posterior mean of ``x``, shape (batch, n_latents)."""
        return self.encoder.encode(x)[0]
