"""Pure tensor loss functions of the neural estimators."""

import math

import torch
import torch.nn.functional as F

__all__ = [
    "tcl_loss",
    "pcl_logits",
    "pcl_loss",
    "pcl_infonce_loss",
    "gaussian_nll",
    "bernoulli_nll",
    "normal_kl",
    "laplace_kl",
]


def tcl_loss(logits, labels):
    """Time-contrastive loss: softmax cross-entropy of segment logits.

    Parameters
    ----------
    logits : torch.Tensor of shape (batch, n_segments)
        Classifier outputs.
    labels : torch.LongTensor of shape (batch,)
        Segment labels.

    Returns
    -------
    loss : torch.Tensor
        Mean cross-entropy.
    accuracy : torch.Tensor
        Fraction of correctly classified samples.

    Examples
    --------
    >>> loss, acc = tcl_loss(torch.tensor([[5.0, 0.0]]), torch.tensor([0]))
    >>> float(acc)
    1.0
    """
    loss = F.cross_entropy(logits, labels)
    accuracy = (logits.argmax(dim=1) == labels).float().mean()
    return loss, accuracy


def pcl_logits(h_t, h_lag, w1, w2, b, a, m):
    """PCL regression function r(x_t, x_lag) for a batch of pairs.

    ``r = -sum_i |w1_i h_i(x_t) + w2_i h_i(x_lag) + b_i| + a * sum_i h_i(x_t)^2 + m``.

    Parameters
    ----------
    h_t, h_lag : torch.Tensor of shape (batch, n_components)
        Features of the current and the (real or permuted) lagged samples.
    w1, w2, b : torch.Tensor of shape (n_components,)
        Per-component coefficients.
    a : torch.Tensor of shape () or (n_components,)
        Non-negative quadratic coefficient(s).
    m : torch.Tensor of shape ()
        Offset.

    Returns
    -------
    r : torch.Tensor of shape (batch,)
        Logits (positive: a real pair).

    Examples
    --------
    >>> z = torch.zeros(2, 3)
    >>> pcl_logits(z, z, torch.ones(3), -torch.ones(3), torch.zeros(3), torch.tensor(0.),
    ...            torch.tensor(1.)).tolist()
    [1.0, 1.0]
    """
    return -(w1 * h_t + w2 * h_lag + b).abs().sum(dim=1) + (a * h_t.pow(2)).sum(dim=1) + m


def pcl_loss(logits_pos, logits_neg):
    """Logistic loss of real pairs (label 1) against permuted pairs (label 0).

    Parameters
    ----------
    logits_pos, logits_neg : torch.Tensor of shape (batch,)
        Logits of real and of permuted pairs.

    Returns
    -------
    loss : torch.Tensor
        Mean binary cross-entropy over both sets.
    accuracy : torch.Tensor
        Fraction classified correctly (logit > 0 means real).

    Examples
    --------
    >>> loss, acc = pcl_loss(torch.tensor([3.0]), torch.tensor([-3.0]))
    >>> float(acc)
    1.0
    """
    loss = 0.5 * (F.softplus(-logits_pos).mean() + F.softplus(logits_neg).mean())
    accuracy = 0.5 * ((logits_pos > 0).float().mean() + (logits_neg < 0).float().mean())
    return loss, accuracy


def pcl_infonce_loss(h_t, h_lag, w1, w2, b, a, m, group):
    """PCL's InfoNCE task: each ``x_t`` picks its lag partner among those of its group.

    Within each group of ``group`` consecutive pairs, ``r(x_t[i], x_lag[j])`` (the
    regression function of :func:`pcl_logits` without its offset, the quadratic term on
    the candidate) is a logit of ``j == i``; the cross-entropy is averaged over rows and
    columns (the task both ways). The offset ``m`` is trained alongside by the logistic
    loss on the detached logits of real pairs and of the next pair's partner, so
    ``r > 0`` keeps meaning "real pair" without that term shaping the features.

    Parameters
    ----------
    h_t, h_lag : torch.Tensor of shape (batch, n_components)
        Features of the current samples and of their lagged partners.
    w1, w2, b, a, m : torch.Tensor
        The coefficients of :func:`pcl_logits`.
    group : int
        Pairs per group (capped at the batch); the batch is cut into whole groups.

    Returns
    -------
    loss : torch.Tensor
        InfoNCE loss plus the offset's logistic loss.
    accuracy : torch.Tensor
        Fraction of rows whose real partner has the largest logit.

    Examples
    --------
    >>> h = torch.randn(8, 2)
    >>> one, zero = torch.ones(2), torch.zeros(2)
    >>> loss, acc = pcl_infonce_loss(h, h, one, -one, zero, zero, torch.tensor(0.0), 4)
    >>> float(acc)
    1.0
    """
    n, k = h_t.shape
    g = max(1, min(int(group), n))
    n = n // g * g
    u = (w1 * h_t[:n]).view(-1, g, k)
    lag = h_lag[:n].view(-1, g, k)
    v = w2 * lag + b
    # r[c, i, j]: current sample i with candidate partner j, in group c. The sum of
    # |u_i + v_j| over components is the L1 distance from u_i to -v_j; cdist computes it
    # without the (group, group, n_components) tensor (about 3 times faster on a CPU).
    r = -torch.cdist(u, -v, p=1)
    r = r + (a * lag.pow(2)).sum(-1)[:, None, :]
    target = torch.arange(g, device=h_t.device).repeat(r.shape[0])
    rows = r.reshape(-1, g)
    loss = 0.5 * (
        F.cross_entropy(rows, target) + F.cross_entropy(r.transpose(1, 2).reshape(-1, g), target)
    )
    accuracy = (rows.argmax(1) == target).float().mean()
    # The offset: real pairs against each current sample with the next pair's partner.
    zero = torch.zeros((), dtype=h_t.dtype, device=h_t.device)
    with torch.no_grad():
        pos = pcl_logits(h_t, h_lag, w1, w2, b, a, zero)
        neg = pcl_logits(h_t, h_lag.roll(1, 0), w1, w2, b, a, zero)
    offset_loss, _ = pcl_loss(pos + m, neg + m)
    return loss + offset_loss, accuracy


# --------------------------------------------------------------------------------------
# SlowVAE (Klindt et al., ICLR 2021): reconstruction terms and closed-form KL divergences
# of a diagonal Gaussian posterior to the N(0, I) prior and to the Laplace transition prior.
# --------------------------------------------------------------------------------------
_LOG_2PI = 1.8378770664093453  # log(2 pi)


def gaussian_nll(x, mean, log_scale):
    """Negative log-likelihood of a diagonal Gaussian, summed over features.

    Parameters
    ----------
    x, mean : torch.Tensor of shape (batch, n_features)
        Data and reconstruction mean.
    log_scale : torch.Tensor of shape (n_features,) or (batch, n_features)
        Log standard deviation.

    Returns
    -------
    torch.Tensor of shape (batch,)
        ``-log N(x | mean, exp(log_scale)**2)`` per row.

    Examples
    --------
    >>> round(float(gaussian_nll(torch.zeros(1, 1), torch.zeros(1, 1), torch.zeros(1))), 4)
    0.9189
    """
    z = (x - mean) * torch.exp(-log_scale)
    return (0.5 * z.pow(2) + log_scale + 0.5 * _LOG_2PI).sum(dim=1)


def bernoulli_nll(x, logits):
    """Negative log-likelihood of a Bernoulli decoder, summed over pixels.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, n_features)
        Binary (or [0, 1]) targets.
    logits : torch.Tensor of shape (batch, n_features)
        Decoder logits.

    Returns
    -------
    torch.Tensor of shape (batch,)
        Binary cross-entropy per row.

    Examples
    --------
    >>> round(float(bernoulli_nll(torch.ones(1, 2), torch.zeros(1, 2))), 4)
    1.3863
    """
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)


def normal_kl(mu, logvar, marginal_var=None):
    """KL(N(mu, Sigma) || N(0, I)), as per-latent terms that sum to the divergence.

    Parameters
    ----------
    mu, logvar : torch.Tensor of shape (batch, n_latents)
        Posterior mean and log-variances; for a diagonal ``Sigma`` its log diagonal, for a
        full ``Sigma = L L^T`` the log squared diagonal of the Cholesky factor ``L`` (their
        sum is ``log det Sigma``).
    marginal_var : torch.Tensor of shape (batch, n_latents), default=None
        Diagonal of ``Sigma``; ``None`` means ``exp(logvar)`` (diagonal posterior).

    Returns
    -------
    torch.Tensor of shape (batch, n_latents)
        ``0.5 (mu**2 + marginal_var - 1 - logvar)``.

    Examples
    --------
    >>> float(normal_kl(torch.zeros(1, 1), torch.zeros(1, 1)))
    0.0
    """
    var = torch.exp(logvar) if marginal_var is None else marginal_var
    return 0.5 * (mu.pow(2) + var - 1.0 - logvar)


def laplace_kl(mu, logvar, loc, rate, marginal_var=None):
    """KL(N(mu, sigma**2) || Laplace(loc, 1 / rate)) per latent, in closed form.

    With ``d = mu - loc`` the cross-entropy of the Gaussian to the Laplace density
    ``(rate / 2) exp(-rate |z - loc|)`` is::

        CE = -log(rate / 2) + rate * [sigma sqrt(2 / pi) exp(-d**2 / (2 sigma**2))
                                      + d (2 Phi(d / sigma) - 1)]

    (``rate`` times the mean of a folded normal), and the KL is ``CE`` minus the Gaussian's
    entropy ``0.5 log(2 pi e sigma**2)`` (Klindt et al., 2021, appendix).

    Parameters
    ----------
    mu, logvar : torch.Tensor of shape (batch, n_latents)
        Posterior mean and log-variance of the current frame.
    loc : torch.Tensor of shape (batch, n_latents)
        Centre of the Laplace prior (the posterior mean of the other frame).
    rate : torch.Tensor or float
        Laplace rate ``lambda`` (scalar or per latent).
    marginal_var : torch.Tensor of shape (batch, n_latents), default=None
        For a full-covariance posterior ``Sigma = L L^T``: the diagonal of ``Sigma`` (used in
        the cross-entropy), with ``logvar`` the log squared diagonal of ``L`` (used in the
        entropy, ``0.5 log det(2 pi e Sigma)``); the per-latent terms then sum to the joint
        divergence to the factorised Laplace. ``None``: diagonal posterior.

    Returns
    -------
    torch.Tensor of shape (batch, n_latents)
        KL(q || Laplace(loc, 1/rate)) per sample and latent.

    Examples
    --------
    >>> kl = laplace_kl(torch.zeros(1, 1), torch.zeros(1, 1), torch.zeros(1, 1), 1.0)
    >>> round(float(kl), 4)  # N(0, 1) against Laplace(0, 1)
    0.0721
    """
    rate = torch.as_tensor(rate, dtype=mu.dtype, device=mu.device)
    sigma = torch.exp(0.5 * logvar) if marginal_var is None else torch.sqrt(marginal_var)
    d = mu - loc
    folded_mean = sigma * math.sqrt(2.0 / math.pi) * torch.exp(-0.5 * (d / sigma).pow(2)) + d * (
        2.0 * torch.special.ndtr(d / sigma) - 1.0
    )
    cross_entropy = -torch.log(rate / 2.0) + rate * folded_mean
    entropy = 0.5 * (logvar + _LOG_2PI + 1.0)
    return cross_entropy - entropy


# --------------------------------------------------------------------------------------
# iVAE (Khemakhem et al., AISTATS 2020): KL of the Gaussian posterior to the conditional
# prior of zero mean and per-sample log-variances lambda(u).
# --------------------------------------------------------------------------------------
def conditional_prior_kl(mu, logvar, prior_logvar, prior="gaussian"):
    """KL(N(mu, exp(logvar)) || p(z | u)) per latent, in closed form.

    The prior has zero mean and variance ``exp(prior_logvar)``: a Gaussian, or a Laplace
    distribution of that variance (scale ``exp(prior_logvar / 2) / sqrt(2)``).

    Parameters
    ----------
    mu, logvar : torch.Tensor of shape (batch, n_latents)
        Posterior mean and log-variance.
    prior_logvar : torch.Tensor of shape (batch, n_latents)
        Log-variance of the prior of each row.
    prior : {"gaussian", "laplace"}, default="gaussian"
        Family of the prior.

    Returns
    -------
    torch.Tensor of shape (batch, n_latents)
        KL(q || p(z | u)) per sample and latent.

    Examples
    --------
    >>> zero = torch.zeros(1, 1)
    >>> float(conditional_prior_kl(zero, zero, zero))
    0.0
    >>> round(float(conditional_prior_kl(zero, zero, zero, "laplace")), 4)  # unit variance
    0.056
    """
    if prior == "laplace":
        # Variance 2 b^2 = exp(prior_logvar): rate 1 / b = sqrt(2) exp(-prior_logvar / 2).
        rate = math.sqrt(2.0) * torch.exp(-0.5 * prior_logvar)
        return laplace_kl(mu, logvar, torch.zeros_like(mu), rate)
    return 0.5 * (
        prior_logvar - logvar + (torch.exp(logvar) + mu.pow(2)) * torch.exp(-prior_logvar) - 1.0
    )
