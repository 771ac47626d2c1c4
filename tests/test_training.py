import math

import pytest
import torch

from nlica import TrainingDivergedError
from nlica._training import TrainConfig, _lr_factor, train


def _regression(lr, steps=200, **kw):
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    x = torch.randn(256, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])

    def loss_fn(module, batch):
        err = module(batch) - y
        return err.pow(2).mean(), {"mae": err.abs().mean()}

    config = TrainConfig(max_iter=steps, learning_rate=lr, log_every=20, **kw)
    return net, train(net, loss_fn, lambda: x, config)


def test_train_reduces_loss_and_records_history():
    net, (history, n_iter) = _regression(0.05)
    assert n_iter == 200
    assert len(history) == 10
    assert history[-1]["loss"] < 1e-3 < history[0]["loss"]
    assert {"step", "loss", "lr", "time", "mae"} <= set(history[0])
    assert not net.training


def test_divergence_raises_named_error():
    with pytest.raises(TrainingDivergedError, match="learning_rate"):
        _regression(1e6, optimizer="sgd", momentum=0.0)


def test_early_stopping_and_callbacks():
    _, (history, n_iter) = _regression(0.05, steps=5000, n_iter_no_change=3, tol=1e-3)
    assert n_iter < 5000
    calls = []
    _, (history, n_iter) = _regression(
        0.05, steps=1000, callbacks=[lambda rec: calls.append(rec) or rec["step"] >= 60]
    )
    assert n_iter == 60 and len(calls) == 3


def test_schedules():
    cfg = TrainConfig(max_iter=100, learning_rate=1.0, schedule="cosine")
    assert _lr_factor(0, cfg) == 1.0 and math.isclose(_lr_factor(50, cfg), 0.5)
    cfg = TrainConfig(max_iter=100, learning_rate=1.0, schedule="step", milestones=(10, 50))
    assert [_lr_factor(s, cfg) for s in (0, 10, 60)] == pytest.approx([1.0, 0.1, 0.01])
    cfg = TrainConfig(max_iter=100, learning_rate=1.0, schedule="constant", warmup=10)
    assert _lr_factor(4, cfg) == pytest.approx(0.5)


def test_frozen_steps_train_only_head():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    body_before = net[0].weight.detach().clone()
    x = torch.randn(32, 2)
    config = TrainConfig(max_iter=10, learning_rate=0.1, frozen_steps=10, log_every=5)
    train(
        net,
        lambda m, b: (m(b).pow(2).mean(), {}),
        lambda: x,
        config,
        head_params=list(net[1].parameters()),
    )
    assert torch.equal(net[0].weight, body_before)


def test_ema_weights_are_used():
    net, _ = _regression(0.05, ema_decay=0.5)
    # With the moving average the fit is still good.
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    assert (net(x) - y).pow(2).mean() < 1e-2
