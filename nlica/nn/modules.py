"""Building blocks: maxout MLPs as in Hyvärinen & Morioka's TCL and PCL, plain MLPs."""

import torch
from torch import nn

__all__ = ["Decoder", "Maxout", "MaxoutMLP", "mlp"]


def mlp(in_features, hidden_layer_sizes, out_features, activation):
    """Return a plain MLP: linear layers with ``activation()`` between them.

    Parameters
    ----------
    in_features : int
        Input width.
    hidden_layer_sizes : sequence of int
        Hidden widths (may be empty: one linear layer).
    out_features : int
        Output width.
    activation : callable
        Returns a new activation module for each hidden layer (e.g. ``torch.nn.ReLU``).

    Returns
    -------
    torch.nn.Sequential
        The layers, in order.

    Examples
    --------
    >>> net = mlp(3, [8, 8], 2, nn.ReLU)
    >>> len(net), net(torch.zeros(4, 3)).shape
    (5, torch.Size([4, 2]))
    """
    layers = []
    width = in_features
    for h in hidden_layer_sizes:
        layers += [nn.Linear(width, int(h)), activation()]
        width = int(h)
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


class Maxout(nn.Module):
    """Affine map to ``pool * out_features`` units followed by a max over each pool.

    Parameters
    ----------
    in_features : int
        Input width.
    out_features : int
        Output width.
    pool : int, default=2
        Units per max.

    Examples
    --------
    >>> Maxout(3, 4)(torch.zeros(5, 3)).shape
    torch.Size([5, 4])
    """

    def __init__(self, in_features, out_features, pool=2):
        super().__init__()
        self.pool = pool
        self.linear = nn.Linear(in_features, out_features * pool)

    def forward(self, x):
        """Return the layer's output, shape (batch, out_features), of ``x``."""
        if self.pool == 2:
            # max(a, b) = b + relu(a - b): the same values (to rounding) with a backward
            # pass about 3x cheaper than amax's on the CPU (a third of a PCL step). The
            # two halves of each pool come from the strided rows of the weight, so the
            # backward pass never zero-fills a (batch, 2 * out_features) gradient.
            w, c = self.linear.weight, self.linear.bias
            a = torch.nn.functional.linear(x, w[0::2], c[0::2])
            b = torch.nn.functional.linear(x, w[1::2], c[1::2])
            return b + (a - b).relu()
        y = self.linear(x)
        return y.view(*y.shape[:-1], -1, self.pool).amax(dim=-1)


class MaxoutMLP(nn.Module):
    """Maxout hidden layers and a linear output layer with an optional output map.

    Parameters
    ----------
    in_features : int
        Input width.
    hidden_layer_sizes : sequence of int
        Widths of the maxout hidden layers (may be empty: a linear feature map).
    out_features : int
        Number of features.
    output : {"abs", "batchnorm", "none"}, default="none"
        ``"abs"``: absolute value of the output (TCL); ``"batchnorm"``: batch normalisation
        without affine parameters after a bias-free output layer (PCL); ``"none"``: linear.
    pool : int, default=2
        Units per maxout.
    init : {"he", "xavier"}, default="he"
        He-normal (fan-in) or Xavier-uniform weights, zero biases.

    Examples
    --------
    >>> net = MaxoutMLP(3, [6], 3, output="abs")
    >>> bool((net(torch.randn(4, 3)) >= 0).all())
    True
    """

    def __init__(
        self, in_features, hidden_layer_sizes, out_features, *, output="none", pool=2, init="he"
    ):
        super().__init__()
        layers = []
        width = in_features
        for h in hidden_layer_sizes:
            layers.append(Maxout(width, int(h), pool))
            width = int(h)
        self.hidden = nn.ModuleList(layers)
        self.output = output
        self.out = nn.Linear(width, out_features, bias=output != "batchnorm")
        self.norm = nn.BatchNorm1d(out_features, affine=False) if output == "batchnorm" else None
        for m in self.modules():
            if isinstance(m, nn.Linear):
                if init == "xavier":
                    nn.init.xavier_uniform_(m.weight)
                else:
                    nn.init.kaiming_normal_(m.weight, nonlinearity="linear")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        """Return the features, shape (batch, out_features), of ``x``."""
        for layer in self.hidden:
            x = layer(x)
        x = self.out(x)
        if self.output == "abs":
            x = x.abs()
        elif self.norm is not None:
            x = self.norm(x)
        return x


class Decoder(nn.Module):
    """A linear map plus a maxout MLP correction, from latents back to observations.

    The MLP's output layer starts at zero, so training starts from the linear map and
    adds curvature only where the data need it (a linear mixing is decoded exactly).

    Parameters
    ----------
    in_features : int
        Number of latents.
    hidden_layer_sizes : sequence of int
        Widths of the maxout hidden layers of the correction.
    out_features : int
        Width of the reconstruction.

    Examples
    --------
    >>> dec = Decoder(3, [8], 5)
    >>> dec(torch.zeros(4, 3)).shape
    torch.Size([4, 5])
    """

    def __init__(self, in_features, hidden_layer_sizes, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.correction = MaxoutMLP(in_features, hidden_layer_sizes, out_features)
        nn.init.zeros_(self.correction.out.weight)

    def fit_linear(self, s, x):
        """Set the linear map to the least-squares fit of ``x`` on ``s`` (in float64).

        A start from which training only has to learn the curvature; for a linear model
        it is already the exact inverse.

        Parameters
        ----------
        s : torch.Tensor of shape (n_samples, in_features)
            Latents.
        x : torch.Tensor of shape (n_samples, out_features)
            The observations they should decode to.

        Returns
        -------
        self : Decoder
            This module, with ``linear`` set.

        Examples
        --------
        >>> s = torch.randn(100, 2)
        >>> dec = Decoder(2, [4], 3).fit_linear(s, s @ torch.ones(2, 3) + 1.0)
        >>> torch.allclose(dec(s), s @ torch.ones(2, 3) + 1.0, atol=1e-4)
        True
        """
        s64 = s.detach().double()
        design = torch.cat([s64, torch.ones_like(s64[:, :1])], dim=1)
        coef = torch.linalg.lstsq(design.cpu(), x.detach().double().cpu()).solution
        with torch.no_grad():
            self.linear.weight.copy_(coef[:-1].T)
            self.linear.bias.copy_(coef[-1])
        return self

    def forward(self, s):
        """Return the reconstruction, shape (batch, out_features), of latents ``s``."""
        return self.linear(s) + self.correction(s)
