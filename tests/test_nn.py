"""The plain torch modules of nlica.nn."""

import pytest
import torch

from nlica.nn.modules import Maxout


@pytest.mark.parametrize("pool", [2, 3])
def test_maxout_is_the_max_over_each_pool_of_the_affine_map(pool):
    # Pools of two take a faster path (strided weight rows, b + relu(a - b)); its values
    # and gradients must be those of the plain max over the affine map's pools.
    torch.manual_seed(0)
    layer = Maxout(5, 4, pool=pool)
    x = torch.randn(7, 3, 5, requires_grad=True)
    out = layer(x)
    ref = layer.linear(x).view(7, 3, 4, pool).amax(-1)
    torch.testing.assert_close(out, ref)
    g = torch.randn_like(out)
    grads = torch.autograd.grad(out, [x, layer.linear.weight, layer.linear.bias], g)
    ref_grads = torch.autograd.grad(ref, [x, layer.linear.weight, layer.linear.bias], g)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b)
