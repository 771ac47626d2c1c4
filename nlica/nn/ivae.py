"""The identifiable VAE of Khemakhem, Kingma, Monti & Hyvärinen (AISTATS 2020).

:class:`IVAENet` holds three networks: an encoder ``x -> (mean, log-variance)`` of the
Gaussian posterior, a decoder ``z -> mean`` of the Gaussian likelihood (its variance is
fixed), and the conditional prior's log-variances ``lambda(u)``: a table with one row per
segment for discrete labels, or an MLP of a continuous auxiliary variable.
"""

import functools

import torch
from torch import nn

from .modules import mlp

__all__ = ["IVAENet"]


class IVAENet(nn.Module):
    """Encoder, decoder and conditional prior of an identifiable VAE.

    Parameters
    ----------
    n_features : int
        Width of the observations.
    n_latents : int
        Number of latents (sources).
    hidden_layer_sizes : sequence of int
        Hidden widths of the encoder and the decoder (leaky-ReLU MLPs; may be empty).
    n_segments : int, default=None
        Number of segment labels: the prior's log-variances are then a learned table with
        one row per label. ``None``: an MLP of the continuous ``aux_features``.
    aux_features : int, default=None
        Width of the continuous auxiliary variable (when ``n_segments`` is None).
    prior_hidden_sizes : sequence of int, default=()
        Hidden widths of the prior's MLP (continuous ``u`` only).
    decoder_var : float, default=0.01
        Fixed variance of the Gaussian decoder.
    slope : float, default=0.1
        Negative slope of the leaky ReLUs.

    Examples
    --------
    >>> net = IVAENet(3, 2, [8], n_segments=4)
    >>> mu, logvar = net.encode(torch.zeros(5, 3))
    >>> mu.shape, net.prior_logvar(torch.zeros(5, dtype=torch.long)).shape
    (torch.Size([5, 2]), torch.Size([5, 2]))
    >>> net.decode(mu).shape
    torch.Size([5, 3])
    """

    def __init__(
        self,
        n_features,
        n_latents,
        hidden_layer_sizes,
        *,
        n_segments=None,
        aux_features=None,
        prior_hidden_sizes=(),
        decoder_var=0.01,
        slope=0.1,
    ):
        super().__init__()
        if (n_segments is None) == (aux_features is None):
            raise ValueError("give exactly one of n_segments and aux_features.")
        self.n_latents = int(n_latents)
        hidden = [int(h) for h in hidden_layer_sizes]
        leaky = functools.partial(nn.LeakyReLU, slope)
        self.encoder = mlp(n_features, hidden, 2 * self.n_latents, leaky)
        # The posterior variances of a nearly deterministic decoder are of the order of its
        # variance, far below 1: starting there spares Adam's bounded steps the way down.
        with torch.no_grad():
            self.encoder[-1].bias[self.n_latents :] = torch.tensor(float(decoder_var)).log()
        self.decoder = mlp(self.n_latents, hidden[::-1], n_features, leaky)
        if n_segments is not None:
            # One row of log-variances per label: the one-hot-input linear map, as a table.
            self.prior_table = nn.Embedding(int(n_segments), self.n_latents)
            nn.init.zeros_(self.prior_table.weight)
            self.prior_net = None
        else:
            self.prior_table = None
            self.prior_net = mlp(int(aux_features), list(prior_hidden_sizes), self.n_latents, leaky)
        self.register_buffer("decoder_logvar", torch.tensor(float(decoder_var)).log())

    def encode(self, x):
        """Return the parameters of the Gaussian posterior ``q(z | x)``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_features)
            Observations.

        Returns
        -------
        mu, logvar : torch.Tensor of shape (batch, n_latents)
            Posterior mean and log-variance.
        """
        h = self.encoder(x)
        return h[:, : self.n_latents], h[:, self.n_latents :]

    def decode(self, z):
        """Return the mean of the Gaussian decoder ``p(x | z)``.

        Parameters
        ----------
        z : torch.Tensor of shape (batch, n_latents)
            Latent values (posterior means or samples).

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            The decoder mean.
        """
        return self.decoder(z)

    def prior_logvar(self, u):
        """Return the log-variances ``lambda(u)`` of the conditional prior.

        Parameters
        ----------
        u : torch.Tensor of shape (batch,) or (batch, aux_features)
            Segment codes (a long tensor, table prior) or the continuous auxiliary
            variable (a float tensor).

        Returns
        -------
        torch.Tensor of shape (batch, n_latents)
            The prior's log-variance of each latent for each row.
        """
        if self.prior_table is not None:
            return self.prior_table(u)
        return self.prior_net(u)

    def forward(self, x):
        """Return the posterior mean of ``x`` (the sources estimated by the encoder)."""
        return self.encode(x)[0]
