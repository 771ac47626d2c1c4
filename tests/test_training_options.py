"""Training options shared by the neural estimators: gradient clipping, bf16 autocast,
torch.compile, and streaming of recordings larger than ``memory_budget`` (memmaps)."""

import inspect
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from nlica import PCL, TCL, SlowVAE, _neural, _training
from nlica.datasets import make_pcl_dataset, make_slowvae_dataset, make_tcl_dataset
from nlica.metrics import mean_corr_coef

ESTIMATORS = [TCL, PCL, SlowVAE]


@pytest.fixture(scope="module")
def pcl_data():
    return make_pcl_dataset(3, n_layers=1, n_samples=2**12, random_state=0)


def _fit(cls, data, **params):
    params = {"max_iter": 300, "device": "cpu", "random_state": 0, **params}
    if cls is TCL:
        # One hidden layer of 32 units, the default width before it became 80: on these
        # tiny data (3 sources, 8 segments of 256) 80 units give MCCs that vary from seed
        # to seed by 0.3 in either precision, which the precision comparison below would
        # read as a bf16 failure. At 5 sources and 64 segments of 512, bf16 with the
        # default 80 units matched float32 (0.992 and 0.994, 3000 steps).
        return cls(n_layers=2, hidden_layer_sizes=[32], **params).fit(
            data.X, segments=data.segments
        )
    return cls(**params).fit(data.X)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "bad",
    [
        {"clip_grad_norm": 0.0},
        {"clip_grad_norm": -1.0},
        {"precision": "fp16"},
        {"compile": "yes"},
        {"memory_budget": 0},
        {"memory_budget": "1GB"},
    ],
    ids=str,
)
def test_bad_training_options_are_named(cls, bad, pcl_data):
    name = next(iter(bad))
    with pytest.raises(InvalidParameterError, match=name):
        cls(max_iter=2, device="cpu", **bad).fit(pcl_data.X)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_training_options_reach_the_loop(cls, pcl_data, monkeypatch):
    seen = []
    original = _neural.train

    def spy(module, loss_fn, batch_fn, config, **kwargs):
        seen.append((config.clip_grad_norm, config.precision, config.compile))
        return original(module, loss_fn, batch_fn, config, **kwargs)

    monkeypatch.setattr(_neural, "train", spy)
    cls(
        max_iter=3, device="cpu", random_state=0, n_init=1, clip_grad_norm=2.5, precision="bf16"
    ).fit(pcl_data.X, **({"segments": np.arange(4096) // 512} if cls is TCL else {}))
    # One network per candidate model (mixing="auto" fits the linear one too) and, for
    # TCL and PCL, the decoder: every run gets the options.
    assert seen and all(call == (2.5, "bf16", False) for call in seen)


def test_clip_grad_norm_bounds_each_step():
    torch.manual_seed(0)
    x = torch.randn(256, 4) * 10.0  # large inputs: large gradients

    def moved(clip):
        net = torch.nn.Linear(4, 1)
        start = net.weight.detach().clone()
        config = _training.TrainConfig(
            max_iter=10,
            learning_rate=1e-3,
            optimizer="sgd",
            momentum=0.0,
            schedule="constant",
            clip_grad_norm=clip,
        )
        _training.train(net, lambda m, b: (m(b).pow(2).mean(), {}), lambda: x, config)
        return float((net.weight.detach() - start).norm())

    # Ten SGD steps of norm at most lr * clip each.
    assert moved(1e-3) <= 10 * 1e-3 * 1e-3 + 1e-9
    assert moved(None) > 0.05


@pytest.mark.parametrize(
    "cls,make",
    [
        (
            TCL,
            lambda: make_tcl_dataset(
                n_sources=3, n_layers=1, n_segments=8, segment_length=256, random_state=0
            ),
        ),
        (PCL, lambda: make_pcl_dataset(3, n_layers=1, n_samples=2**12, random_state=0)),
        (SlowVAE, lambda: make_slowvae_dataset(3, n_layers=1, n_samples=2**12, random_state=0)),
    ],
    ids=["TCL", "PCL", "SlowVAE"],
)
def test_bf16_training_recovers_and_stays_float32(cls, make):
    data = make()
    # The network in both (mixing="auto" may keep the linear model in one and not the
    # other: the precision is what is compared).
    full = _fit(cls, data, mixing="nonlinear")
    half = _fit(cls, data, precision="bf16", mixing="nonlinear")
    assert next(half.module_.parameters()).dtype == torch.float32
    S = half.transform(data.X)
    assert np.all(np.isfinite(S)) and np.all(np.isfinite(half.loss_curve_))
    target = np.abs(data.S) if cls is TCL else data.S
    mcc_full = mean_corr_coef(target, full.transform(data.X))
    mcc_half = mean_corr_coef(target, S)
    assert mcc_half > mcc_full - 0.1


def test_compile_option_trains_the_same_model(pcl_data, monkeypatch):
    # The eager backend traces with dynamo but needs no C compiler (fast on a CPU).
    monkeypatch.setattr(_training, "_COMPILE_KWARGS", {"backend": "eager"})
    torch._dynamo.reset()
    plain = PCL(max_iter=100, device="cpu", random_state=0, n_init=1).fit(pcl_data.X)
    compiled = PCL(max_iter=100, device="cpu", random_state=0, n_init=1, compile=True).fit(
        pcl_data.X
    )
    np.testing.assert_allclose(compiled.loss_curve_, plain.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(
        compiled.transform(pcl_data.X), plain.transform(pcl_data.X), atol=1e-4
    )


def _broken_backend(graph_module, example_inputs):
    # A torch.compile backend that fails as the one seen on CUDA with bf16 convolutions.
    raise AssertionError("expected size 64==64, stride 16==1 at dim=1")


def test_a_compiler_failure_warns_and_trains_without_compilation(pcl_data, monkeypatch):
    # A torch.compile bug on the first step (one was seen on CUDA with bf16 convolutions)
    # must cost the speed-up only: the fit goes on uncompiled, from the same batch.
    monkeypatch.setattr(_training, "_COMPILE_KWARGS", {"backend": _broken_backend})
    torch._dynamo.reset()
    plain = PCL(max_iter=100, device="cpu", random_state=0, n_init=1).fit(pcl_data.X)
    with pytest.warns(RuntimeWarning, match="torch.compile failed on the first training step"):
        rescued = PCL(max_iter=100, device="cpu", random_state=0, n_init=1, compile=True).fit(
            pcl_data.X
        )
    torch._dynamo.reset()
    np.testing.assert_allclose(rescued.loss_curve_, plain.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(rescued.transform(pcl_data.X), plain.transform(pcl_data.X))


def test_an_error_of_the_loss_itself_is_raised_without_blaming_the_compiler(monkeypatch):
    # The step-0 fallback retries uncompiled; an error that fails there too is the model's
    # or the loss's own and must reach the caller as it is, with no compiler warning.
    def bad_loss(module, batch):
        if batch.shape[1] != 3:
            raise ValueError("the loss wants 3 columns")
        return module(batch).sum(), {}

    monkeypatch.setattr(_training, "_COMPILE_KWARGS", {"backend": _broken_backend})
    torch._dynamo.reset()
    module = torch.nn.Linear(2, 1)
    config = _training.TrainConfig(max_iter=3, learning_rate=1e-2, compile=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="the loss wants 3 columns"):
            _training.train(module, bad_loss, lambda: torch.zeros(4, 2), config)
    torch._dynamo.reset()


# ------------------------------------------------------------------ memory budget
@pytest.fixture(scope="module")
def memmap_file(tmp_path_factory):
    data = make_pcl_dataset(3, n_layers=1, n_samples=2**13, random_state=1)
    path = tmp_path_factory.mktemp("mm") / "X.npy"
    np.save(path, data.X.astype(np.float32))
    return data, path


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_memmap_over_budget_streams_and_matches_in_memory(cls, memmap_file):
    data, path = memmap_file
    X = np.load(path, mmap_mode="r")
    kw = dict(max_iter=200, device="cpu", random_state=0)
    fit_kw = {}
    if cls is TCL:
        kw["n_layers"] = 2
        fit_kw["segments"] = np.repeat(np.arange(16), X.shape[0] // 16)
    in_memory = cls(**kw).fit(np.asarray(X), **fit_kw)
    streamed = cls(memory_budget=1e-3, **kw)  # ~1 KiB: every batch comes from the file
    calls = []
    original = streamed._whitened_tensor

    def spy(rows, *args, **kwargs):
        calls.append(rows.shape[0])
        return original(rows, *args, **kwargs)

    streamed._whitened_tensor = spy
    streamed.fit(X, **fit_kw)
    del streamed._whitened_tensor  # the instance attribute would not pickle/clone
    # Training read one batch per step, and nothing read more than a transform chunk.
    assert sum(c < X.shape[0] for c in calls) >= 200
    assert max(calls) <= 3 * 2**16
    np.testing.assert_allclose(streamed.mean_, in_memory.mean_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(streamed.whitening_, in_memory.whitening_, rtol=1e-8)
    np.testing.assert_allclose(streamed.loss_curve_, in_memory.loss_curve_, rtol=1e-3)
    S_mm, S_mem = streamed.transform(X), in_memory.transform(np.asarray(X))
    assert np.all(np.isfinite(S_mm))
    assert mean_corr_coef(S_mem, S_mm) > 0.99
    assert not X.flags.writeable  # opened read-only and still fine


def test_fit_does_not_modify_float64_input(pcl_data):
    X = pcl_data.X.copy()
    PCL(max_iter=5, device="cpu", random_state=0, memory_budget=1e-3).fit(X)
    np.testing.assert_array_equal(X, pcl_data.X)


_PEAK_SCRIPT = r"""
import json, sys, threading, time
import numpy as np
from nlica import {cls}

def rss_anon():
    # Anonymous resident memory: the process's own allocations, not the file's page cache.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0

X = np.load(sys.argv[1], mmap_mode="r")
base = rss_anon()
peak = [base]
done = threading.Event()

def watch():
    while not done.is_set():
        peak[0] = max(peak[0], rss_anon())
        time.sleep(0.005)

thread = threading.Thread(target=watch)
thread.start()
t0 = time.perf_counter()
est = {cls}(max_iter=200, device="cpu", random_state=0,
            memory_budget=float(sys.argv[2])).fit(X)
seconds = time.perf_counter() - t0
done.set()
thread.join()
print(json.dumps({{"peak_extra": peak[0] - base, "seconds": seconds,
                   "file_bytes": X.nbytes, "n_iter": est.n_iter_}}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
@pytest.mark.parametrize("cls", ["PCL", "SlowVAE"])
def test_memmap_fit_peak_memory_is_bounded(cls, tmp_path):
    # A 320 MB float32 recording (2M x 40) on disk, fitted with a 64 MiB budget.
    path = tmp_path / "big.npy"
    n, d = 2_000_000, 40
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    rng = np.random.default_rng(0)
    for start in range(0, n, 250_000):
        X[start : start + 250_000] = rng.laplace(size=(250_000, d)).cumsum(
            0
        ) * 1e-2 + rng.standard_normal((250_000, d))
    X.flush()
    del X
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT.format(cls=cls), str(path), "64"],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    import json

    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"{cls}: peak extra anonymous memory {result['peak_extra'] / 2**20:.1f} MiB "
        f"for a {result['file_bytes'] / 2**20:.0f} MiB memmap, {result['seconds']:.1f} s"
    )
    # In memory, the float32 whitened copy alone would be the file's size again (plus
    # float64 temporaries of twice that); streamed, the process needs less than the file:
    # torch's and the allocator's start-up (~100 MiB) plus chunk-sized buffers.
    assert result["peak_extra"] < min(256 * 2**20, 0.85 * result["file_bytes"])


# ------------------------------------------------------------------ the template
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_one_convergence_warning_at_the_callers_line(cls, pcl_data):
    # Two loss reads (200 steps) cannot make n_iter_no_change=5 stale reads: max_iter ends
    # training first, which every estimator reports once, pointing at the call of fit.
    est = cls(max_iter=200, n_iter_no_change=5, device="cpu", random_state=0, n_init=1)
    fit_kw = {"segments": np.arange(4096) // 512} if cls is TCL else {}
    with pytest.warns(Warning) as record:
        est.fit(pcl_data.X, **fit_kw)
    ours = [w for w in record if "increase max_iter" in str(w.message)]
    assert len(ours) == 1
    assert issubclass(ours[0].category, ConvergenceWarning)
    assert ours[0].filename == __file__
    assert est.n_iter_ == 200


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_shared_parameters_declared_once(cls):
    # Every shared training parameter is in the signature, the constraints and the
    # docstring (from the template's fragment), after the estimator's own parameters.
    params = list(cls().get_params())
    doc = cls.__doc__
    for name in _neural.TRAINING_PARAMETERS:
        assert name in params and name in cls._parameter_constraints
        assert f"\n    {name} : " in doc, name
    assert "<training parameters>" not in doc
    signature = list(inspect.signature(cls).parameters)
    shared = [p for p in signature if p in _neural.TRAINING_PARAMETERS]
    assert shared == list(_neural.TRAINING_PARAMETERS)
    assert signature[-len(shared) :] == shared


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_transform_rows_independent_of_the_batch(cls, pcl_data):
    est = _fit(
        cls,
        make_tcl_dataset(3, n_layers=1, n_segments=8, segment_length=64, random_state=0)
        if cls is TCL
        else pcl_data,
        max_iter=100,
    )
    X = est.mean_ + np.random.default_rng(1).standard_normal((300, 3))
    full = est.transform(X)
    assert full.dtype == np.float64
    # float64 all the way: agreement to rounding (a float32 network differs near 1e-7).
    np.testing.assert_allclose(full[:7], est.transform(X[:7]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(full[100:101], est.transform(X[100:101]), rtol=1e-10, atol=1e-12)


def test_small_linear_candidate_does_not_leave_the_network_on_one_thread(monkeypatch):
    # mixing="auto" trains the small linear model first (one thread) and then the network;
    # a network above the small-step bound trains on the caller's thread count again, and
    # the caller's count is back after fit.
    data = make_tcl_dataset(3, n_layers=2, n_segments=8, segment_length=256, random_state=0)
    seen = []
    train = _neural.train

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return train(*args, **kwargs)

    monkeypatch.setattr(_neural, "train", spy)
    # Between the linear model's step (1024 rows x 2 x 3 wide) and the network's (x 64).
    monkeypatch.setattr(_neural, "_SMALL_STEP", 1024 * 2 * 3)
    n_threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        TCL(hidden_layer_sizes=[64], max_iter=20, mixing="auto", random_state=0).fit(
            data.X, segments=data.segments
        )
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(n_threads)
    assert seen[:2] == [1, 2]
