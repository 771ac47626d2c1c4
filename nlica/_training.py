"""The one optimisation loop shared by the neural estimators.

The loop never synchronises with the device on every step: losses are accumulated on the
device and read back once per logging interval, which is also when divergence, early
stopping and callbacks are checked.
"""

import math
import sys
import time
import warnings
from dataclasses import dataclass, field, replace

import torch

__all__ = ["TrainingDivergedError", "TrainConfig", "train"]


class TrainingDivergedError(RuntimeError, ValueError):
    """Raised when training produces a non-finite loss.

    The message names the step, the loss value and the parameter to turn (usually
    ``learning_rate``). It is also a :class:`ValueError`: a divergence comes from a value
    the caller chose (a learning rate too high, unscaled data).

    Examples
    --------
    >>> issubclass(TrainingDivergedError, RuntimeError)
    True
    """


@dataclass
class TrainConfig:
    """Settings of one training run (derived from an estimator's parameters and preset).

    Parameters
    ----------
    max_iter : int
        Optimiser steps.
    learning_rate : float
        Initial learning rate.
    optimizer : {"adam", "sgd"}
        Adam, or SGD with momentum.
    momentum : float
        SGD momentum.
    weight_decay : float
        L2 penalty coefficient (coupled, as in the papers).
    schedule : {"cosine", "step", "constant"}
        Learning-rate schedule: cosine decay to zero, or ``step_gamma`` at each milestone.
    milestones : tuple of int
        Steps at which the step schedule multiplies the rate by ``step_gamma``.
    step_gamma : float
        Factor of the step schedule.
    warmup : int
        Steps of linear learning-rate warm-up.
    ema_decay : float or None
        Decay of an exponential moving average of the weights used at the end.
    clip_grad_norm : float or None
        Gradient-norm clipping threshold.
    log_every : int
        Steps between reads of the loss (logging, divergence and early-stopping checks).
    n_iter_no_change : int or None
        Logging intervals without an improvement of ``tol`` before stopping.
    tol : float
        Required improvement of the interval loss.
    verbose : int
        0 silent, 1 a line per interval, 2 a progress bar (tqdm when installed).
    callbacks : list of callables
        Each called as ``cb(record)`` after every interval; returning True stops training.
    frozen_steps : int
        Steps at the start during which only ``head_params`` are trained.
    precision : {"float32", "bf16"}
        ``"bf16"`` runs the forward pass and loss under bfloat16 autocast (weights, their
        gradients and the optimiser stay float32).
    compile : bool
        Compile the forward pass and loss with :func:`torch.compile` (the first steps are
        slow while it compiles; worth it for long GPU runs).

    Examples
    --------
    >>> TrainConfig(max_iter=10, learning_rate=1e-3).optimizer
    'adam'
    """

    max_iter: int
    learning_rate: float
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    milestones: tuple = ()
    step_gamma: float = 0.1
    warmup: int = 0
    ema_decay: float | None = None
    clip_grad_norm: float | None = None
    log_every: int = 100
    n_iter_no_change: int | None = None
    tol: float = 1e-4
    verbose: int = 0
    callbacks: list = field(default_factory=list)
    frozen_steps: int = 0
    precision: str = "float32"
    compile: bool = False


# Extra keyword arguments of torch.compile (tests use the "eager" backend: no C compiler).
_COMPILE_KWARGS = {}


def _forward(module, loss_fn, config):
    """Return ``batch -> (loss, metrics)`` with the configured precision and compilation."""

    def forward(batch):
        return loss_fn(module, batch)

    if config.compile:
        forward = torch.compile(forward, **_COMPILE_KWARGS)
    if config.precision == "float32":
        return forward
    if config.precision != "bf16":
        raise ValueError(f"precision must be 'float32' or 'bf16'; got {config.precision!r}.")
    device_type = next(module.parameters()).device.type

    def autocast_forward(batch):
        with torch.autocast(device_type, dtype=torch.bfloat16):
            loss, metrics = forward(batch)
        # The loss is read and accumulated in float32 whatever autocast chose.
        return loss.float(), {k: v.float() for k, v in metrics.items()}

    return autocast_forward


def _loss_and_grads(forward, batch, optimizer):
    loss, metrics = forward(batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    return loss, metrics


def _lr_factor(step, config):
    factor = 1.0
    if config.warmup and step < config.warmup:
        factor = (step + 1) / config.warmup
    if config.schedule == "cosine":
        factor *= 0.5 * (1.0 + math.cos(math.pi * step / max(config.max_iter, 1)))
    elif config.schedule == "step":
        factor *= config.step_gamma ** sum(step >= m for m in config.milestones)
    return factor


def _make_optimizer(param_groups, config):
    # foreach: one kernel per operation over all parameters instead of one per parameter
    # (torch's default on a CPU). The same losses in our checks; a PCL step at 20 sources
    # took 11.5 ms against 15.4 ms side by side, though timings on the shared CPU varied
    # by as much between runs.
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            param_groups, lr=config.learning_rate, momentum=config.momentum, foreach=True
        )
    return torch.optim.Adam(param_groups, lr=config.learning_rate, foreach=True)


def _progress(config, desc):
    if config.verbose < 2:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=config.max_iter, desc=desc, leave=False)


def train(module, loss_fn, batch_fn, config, *, decay_params=None, head_params=None, name="model"):
    """Optimise ``module`` on batches from ``batch_fn`` under ``config``.

    Parameters
    ----------
    module : torch.nn.Module
        The model; trained in place (left in eval mode, with the averaged weights when
        ``config.ema_decay`` is set).
    loss_fn : callable
        ``loss_fn(module, batch) -> (loss, metrics)`` with ``metrics`` a dict of scalar
        tensors averaged over each logging interval.
    batch_fn : callable
        ``batch_fn() -> batch``; draws from the estimator's torch generator.
    config : TrainConfig
        Optimiser, schedule and stopping settings.
    decay_params : list of torch.nn.Parameter, default=None
        Parameters that get weight decay; ``None`` means all of them.
    head_params : list of torch.nn.Parameter, default=None
        Parameters trained during the first ``config.frozen_steps`` steps.
    name : str, default="model"
        Name used in log lines and errors.

    Returns
    -------
    history : list of dict
        One record per logging interval: ``step``, ``loss``, ``lr``, ``time`` and the
        averaged metrics.
    n_iter : int
        Steps taken.

    Raises
    ------
    TrainingDivergedError
        When the loss becomes NaN or infinite.

    Examples
    --------
    >>> net = torch.nn.Linear(2, 1)
    >>> x = torch.randn(64, 2)
    >>> def loss_fn(m, b):
    ...     return (m(b) - b.sum(1, keepdim=True)).pow(2).mean(), {}
    >>> history, n_iter = train(net, loss_fn, lambda: x, TrainConfig(200, 0.05, log_every=50))
    >>> history[-1]["loss"] < history[0]["loss"]
    True
    """
    params = [p for p in module.parameters() if p.requires_grad]
    decay_ids = {id(p) for p in (params if decay_params is None else decay_params)}
    groups = [
        {"params": [p for p in params if id(p) in decay_ids], "weight_decay": config.weight_decay},
        {"params": [p for p in params if id(p) not in decay_ids], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    optimizer = _make_optimizer(groups, config)
    head_ids = None if head_params is None else {id(p) for p in head_params}

    ema = None
    if config.ema_decay is not None:
        ema = [t.detach().clone() for t in module.state_dict().values()]

    module.train()
    history = []
    device = params[0].device
    running = torch.zeros((), device=device)
    running_metrics = {}
    n_in_interval = 0
    best = math.inf
    stale = 0
    start_time = time.perf_counter()
    bar = _progress(config, name)
    forward = _forward(module, loss_fn, config)
    step = 0
    try:
        for step in range(config.max_iter):
            factor = _lr_factor(step, config)
            for g in optimizer.param_groups:
                g["lr"] = config.learning_rate * factor
            batch = batch_fn()
            try:
                loss, metrics = _loss_and_grads(forward, batch, optimizer)
            except Exception as exc:
                # torch.compile builds the forward and backward graphs on the first step;
                # a compiler bug there (one seen on CUDA with bf16 convolutions) costs the
                # speed-up, not the fit.
                if not (config.compile and step == 0):
                    raise
                forward = _forward(module, loss_fn, replace(config, compile=False))
                # An error of the model or loss itself fails uncompiled too: it is raised
                # as it is, with no warning that blames the compiler.
                loss, metrics = _loss_and_grads(forward, batch, optimizer)
                first_line = (str(exc).strip().splitlines() or [""])[0][:200]
                warnings.warn(
                    f"{name}: torch.compile failed on the first training step "
                    f"({type(exc).__name__}: {first_line}); training without compilation.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            if head_ids is not None and step < config.frozen_steps:
                # Stage one of the paper's schedule: only the classifier learns.
                for p in params:
                    if id(p) not in head_ids:
                        p.grad = None
            if config.clip_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, config.clip_grad_norm)
            optimizer.step()
            if ema is not None:
                with torch.no_grad():
                    current = [t for t in module.state_dict().values()]
                    for e, c in zip(ema, current):
                        if e.is_floating_point():
                            e.lerp_(c, 1.0 - config.ema_decay)
                        else:
                            e.copy_(c)
            running += loss.detach()
            for k, v in metrics.items():
                running_metrics[k] = running_metrics.get(k, 0.0) + v.detach()
            n_in_interval += 1
            last = step + 1 == config.max_iter
            if n_in_interval < config.log_every and not last:
                continue
            # One host read per interval.
            mean_loss = float(running) / n_in_interval
            if not math.isfinite(mean_loss):
                raise TrainingDivergedError(
                    f"{name} training diverged between steps {step + 2 - n_in_interval} and "
                    f"{step + 1}: the loss is {mean_loss}. Lower learning_rate (now "
                    f"{config.learning_rate:g}) or standardise X."
                )
            record = {
                "step": step + 1,
                "loss": mean_loss,
                "lr": config.learning_rate * factor,
                "time": time.perf_counter() - start_time,
            }
            for k, v in running_metrics.items():
                record[k] = float(v) / n_in_interval
            history.append(record)
            running = torch.zeros((), device=device)
            running_metrics = {}
            n_in_interval = 0
            if bar is not None:
                bar.update(record["step"] - bar.n)
                bar.set_postfix(loss=f"{mean_loss:.4f}")
            elif config.verbose:
                extra = " ".join(
                    f"{k}={v:.4f}"
                    for k, v in record.items()
                    if k not in ("step", "loss", "lr", "time")
                )
                print(
                    f"[{name}] step {record['step']}/{config.max_iter} "
                    f"loss={mean_loss:.4f} {extra} ({record['time']:.1f}s)",
                    file=sys.stderr,
                )
            if any(cb(record) for cb in config.callbacks):
                break
            if config.n_iter_no_change is not None:
                if mean_loss < best - config.tol:
                    best, stale = mean_loss, 0
                else:
                    stale += 1
                    if stale >= config.n_iter_no_change:
                        break
    finally:
        if bar is not None:
            bar.close()
    if ema is not None:
        with torch.no_grad():
            for t, e in zip(module.state_dict().values(), ema):
                t.copy_(e)
    module.eval()
    return history, step + 1
