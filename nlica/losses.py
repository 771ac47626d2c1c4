"""Pure tensor loss functions of the neural estimators."""

import torch.nn.functional as F

__all__ = ["tcl_loss", "pcl_logits", "pcl_loss"]


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
    return (-(w1 * h_t + w2 * h_lag + b).abs().sum(dim=1)
            + (a * h_t.pow(2)).sum(dim=1) + m)


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
