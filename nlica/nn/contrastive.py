"""The networks of the contrastive estimators: TCL's and PCL's features and heads."""

import torch
from torch import nn

from ..losses import pcl_logits
from .modules import MaxoutMLP

__all__ = ["TCLNet", "PCLNet"]


class TCLNet(nn.Module):
    """TCL's network: features ``h`` and a linear classifier of the segment on ``h``.

    ``h`` is a maxout MLP with absolute-value outputs; the classifier is multinomial
    logistic regression.

    Parameters
    ----------
    n_features : int
        Input width.
    hidden_layer_sizes : sequence of int
        Maxout hidden layer widths.
    n_components : int
        Number of features ``h``.
    n_segments : int
        Number of classes.
    logit_scale : float, default=1.0
        Constant factor of the logits, with the classifier's initial weights divided by it:
        the same function at initialisation, but Adam then moves the classifier's
        effective weights ``logit_scale`` times faster.

    Examples
    --------
    >>> net = TCLNet(3, [8], 3, n_segments=5)
    >>> net(torch.zeros(4, 3)).shape, net.encoder(torch.zeros(4, 3)).shape
    (torch.Size([4, 5]), torch.Size([4, 3]))
    """

    def __init__(self, n_features, hidden_layer_sizes, n_components, n_segments, logit_scale=1.0):
        super().__init__()
        self.encoder = MaxoutMLP(n_features, hidden_layer_sizes, n_components, output="abs")
        self.classifier = nn.Linear(n_components, n_segments)
        self.logit_scale = float(logit_scale)
        if self.logit_scale != 1.0:
            with torch.no_grad():
                self.classifier.weight.div_(self.logit_scale)
                self.classifier.bias.div_(self.logit_scale)

    def logits(self, h):
        """Return the segment logits of features ``h``.

        Parameters
        ----------
        h : torch.Tensor of shape (batch, n_components)
            Features of a batch, ``encoder(x)``.

        Returns
        -------
        logits : torch.Tensor of shape (batch, n_segments)
            One logit per segment class.
        """
        out = self.classifier(h)
        return out * self.logit_scale if self.logit_scale != 1.0 else out

    def forward(self, x):
        """Return the segment logits of a batch of whitened observations."""
        return self.logits(self.encoder(x))


class PCLNet(nn.Module):
    """PCL's network: features ``h`` and the regression function ``r`` of a pair.

    ``r(x_t, y) = -sum_i |w1_i h_i(x_t) + w2_i h_i(y) + b_i| + sum_i a_i h_i(x_t)^2 + m``
    with ``a_i >= 0`` (kept so by :meth:`project`), ``w1 = 1`` and ``w2 = -1`` at init.

    Parameters
    ----------
    n_features, hidden_layer_sizes, n_components : int, sequence of int, int
        Input width, maxout hidden layer widths and number of (batch-normalised)
        features, as for :class:`TCLNet`.
    init : {"he", "xavier"}
        Weight initialisation of the feature network.

    Examples
    --------
    >>> net = PCLNet(3, [8], 2, init="xavier")
    >>> h = net(torch.randn(6, 3))
    >>> net.logits(h, h.flip(0)).shape
    torch.Size([6])
    """

    def __init__(self, n_features, hidden_layer_sizes, n_components, *, init):
        super().__init__()
        self.features = MaxoutMLP(
            n_features, hidden_layer_sizes, n_components, output="batchnorm", init=init
        )
        self.w1 = nn.Parameter(torch.ones(n_components))
        self.w2 = nn.Parameter(-torch.ones(n_components))
        self.b = nn.Parameter(torch.zeros(n_components))
        self.a = nn.Parameter(torch.zeros(n_components))
        self.m = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        """Return the features ``h(x)``."""
        return self.features(x)

    def logits(self, h_t, h_other):
        """Return the regression function of pairs of features (positive: a real pair).

        Parameters
        ----------
        h_t, h_other : torch.Tensor of shape (batch, n_components)
            Features of the current samples and of their partners.

        Returns
        -------
        logits : torch.Tensor of shape (batch,)
            One logit per pair.
        """
        return pcl_logits(h_t, h_other, self.w1, self.w2, self.b, self.a, self.m)

    def reorder(self, order):
        """Permute the features (and their terms of ``r``) into ``order``.

        ``r`` is a sum over features, so its values do not change. PCL puts the features
        it returns first and its spare features last.

        Parameters
        ----------
        order : sequence of int
            A permutation of ``range(n_components)``.

        Examples
        --------
        >>> net = PCLNet(3, [8], 3, init="xavier").eval()
        >>> x = torch.randn(5, 3)
        >>> h, r = net(x), net.logits(net(x), net(x.flip(0)))
        >>> net.reorder([2, 0, 1])
        >>> torch.allclose(net(x), h[:, [2, 0, 1]])
        True
        >>> torch.allclose(net.logits(net(x), net(x.flip(0))), r)
        True
        """
        order = torch.as_tensor(list(order), dtype=torch.long, device=self.w1.device)
        if not torch.equal(order.sort().values, torch.arange(self.w1.numel(), device=order.device)):
            raise ValueError(f"order must be a permutation of the {self.w1.numel()} features.")
        features = self.features
        with torch.no_grad():
            tensors = [features.out.weight, self.w1, self.w2, self.b, self.a]
            if features.out.bias is not None:
                tensors.append(features.out.bias)
            if features.norm is not None:
                tensors += [features.norm.running_mean, features.norm.running_var]
            for t in tensors:
                t.copy_(t[order].clone())

    def project(self):
        """Keep the quadratic coefficients non-negative (projected gradient)."""
        with torch.no_grad():
            self.a.clamp_(min=0.0)

    def recalibrate(self, Z, chunk):
        """Set the output batch norm's running statistics to those of all of ``Z``.

        The running averages kept during training follow the last few batches (and, with
        a weight average, weights that were never used); exact statistics of the training
        data make the features of the training data exactly standardised.

        Parameters
        ----------
        Z : torch.Tensor or indexable of shape (n_samples, n_features)
            The whitened training data (sliced ``chunk`` rows at a time).
        chunk : int
            Rows per pass.
        """
        features = self.features
        norm = features.norm
        if norm is None:
            return
        with torch.no_grad():
            total = torch.zeros(
                norm.num_features, dtype=torch.float64, device=norm.running_mean.device
            )
            total_sq = torch.zeros_like(total)
            for start in range(0, Z.shape[0], chunk):
                x = Z[start : start + chunk]
                for layer in features.hidden:
                    x = layer(x)
                x = features.out(x).double()
                total += x.sum(0)
                total_sq += x.pow(2).sum(0)
            n = Z.shape[0]
            mean = total / n
            var = (total_sq / n - mean.pow(2)).clamp_min(0.0)
            norm.running_mean.copy_(mean.to(norm.running_mean.dtype))
            norm.running_var.copy_(var.to(norm.running_var.dtype))
