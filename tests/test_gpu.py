"""GPU behaviour of every estimator, and the GPU benchmark script.

The ``gpu`` tests need CUDA (``pytest -m gpu``; skipped without it). They add to the GPU
tests beside each estimator (test_fastica, test_tcl, test_pcl, test_slowvae): CPU/GPU
agreement with several recordings (``groups``), ``device="auto"``, checkpoints and pickles
of GPU models read on a machine without CUDA, ``sklearn.clone`` and the ``precision`` /
``compile`` options. The other tests run ``benchmarks/bench_gpu.py`` in its quick CPU mode.
"""

import importlib.util
import json
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
import torch

import nlica
from nlica import PCL, TCL, FastICA, SlowVAE
from nlica.datasets import make_pcl_dataset, make_slowvae_dataset, make_tcl_dataset
from nlica.metrics import amari_distance, mean_corr_coef

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_gpu.py"

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


# ------------------------------------------------------------------------- problems
def _tcl_problem():
    data = make_tcl_dataset(3, n_layers=2, n_segments=16, segment_length=256, random_state=1)
    # Two recordings: segments are cut by segment_length within each one.
    groups = np.repeat([0, 1], data.X.shape[0] // 2)
    return dict(
        cls=TCL,
        X=data.X,
        target=data.target,
        method="pearson",
        params=dict(n_layers=2, segment_length=256, max_iter=800, n_init=2, random_state=1),
        fit=dict(groups=groups),
    )


def _pcl_problem():
    data = make_pcl_dataset(3, n_layers=2, n_samples=2**13, random_state=0)
    groups = np.repeat([0, 1], data.X.shape[0] // 2)
    return dict(
        cls=PCL,
        X=data.X,
        target=data.S,
        method="pearson",
        # 1200 steps: at 600 a fit can still sit on a plateau near MCC 0.91 (seen on an
        # H200's CPU with torch 2.11, and for random_state=1 here), so the CPU and CUDA
        # fits would differ by where they stopped, not by the device.
        params=dict(max_iter=1200, batch_size=512, random_state=0),
        fit=dict(groups=groups),
    )


def _slowvae_problem():
    data = make_slowvae_dataset(3, n_layers=1, n_samples=4000, n_groups=4, random_state=0)
    return dict(
        cls=SlowVAE,
        X=data.X,
        target=data.S,
        method="spearman",
        params=dict(max_iter=1000, hidden_layer_sizes=(32, 32), random_state=0),
        fit=dict(groups=data.groups),
    )


PROBLEMS = {"TCL": _tcl_problem, "PCL": _pcl_problem, "SlowVAE": _slowvae_problem}
MIN_MCC = 0.85  # each device, on these small problems (about 0.98 on a CPU)
MAX_MCC_GAP = 0.06  # CPU and CUDA draw different batches, so they are not bit-identical


def _mcc(problem, est):
    return mean_corr_coef(problem["target"], est.transform(problem["X"]), method=problem["method"])


def _fit(problem, device, **extra):
    est = problem["cls"](**{**problem["params"], **extra}, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(problem["X"], **problem["fit"])


def _tiny_fitted(name, device):
    """A quickly fitted estimator (no quality needed) and its training data."""
    if name == "FastICA":
        X = np.random.default_rng(0).laplace(size=(3000, 3)) @ np.array(
            [[1.0, 0.5, 0.2], [0.3, 1.0, 0.1], [0.2, 0.4, 1.0]]
        )
        return FastICA(random_state=0, device=device).fit(X), X
    problem = PROBLEMS[name]()
    return _fit(problem, device, max_iter=50, n_init=1), problem["X"]


def _module_device(est):
    module = getattr(est, "module_", None)
    return None if module is None else next(module.parameters()).device.type


# ------------------------------------------------------------------------ GPU tests
@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-6), (np.float32, 1e-3)])
def test_fastica_torch_cpu_and_cuda_agree(dtype, atol):
    # 60000 rows: the subsample warm start (indices moved to the device) runs too.
    rng = np.random.default_rng(0)
    S = rng.laplace(size=(60_000, 4))
    A = rng.uniform(-1, 1, size=(4, 4))
    X = (S @ A.T).astype(dtype)
    # A tight tol: both runs reach the fixed point, whichever iteration each stops at.
    kw = dict(random_state=0, backend="torch", tol=1e-6)
    cpu = FastICA(device="cpu", **kw)
    gpu = FastICA(device="cuda", **kw)
    S_cpu, S_gpu = cpu.fit_transform(X), gpu.fit_transform(X)
    assert gpu.device_.type == "cuda" and gpu.backend_ == "torch"
    assert S_gpu.dtype == dtype
    np.testing.assert_allclose(S_gpu, S_cpu, atol=atol)
    assert abs(amari_distance(gpu.components_, A) - amari_distance(cpu.components_, A)) < 1e-3
    assert mean_corr_coef(S, S_gpu) > 0.99


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_neural_cpu_and_cuda_agree_with_groups(name):
    problem = PROBLEMS[name]()
    cpu, gpu = _fit(problem, "cpu"), _fit(problem, "cuda")
    assert gpu.device_.type == "cuda" and _module_device(gpu) == "cuda"
    mcc_cpu, mcc_gpu = _mcc(problem, cpu), _mcc(problem, gpu)
    assert mcc_gpu >= MIN_MCC, f"{name} on CUDA: MCC {mcc_gpu:.3f}"
    assert abs(mcc_cpu - mcc_gpu) < MAX_MCC_GAP, (mcc_cpu, mcc_gpu)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("name", ["FastICA", "TCL", "PCL", "SlowVAE"])
def test_auto_device_picks_cuda(name):
    est, _ = _tiny_fitted(name, "auto")
    assert est.device == "auto"  # the parameter stays as given
    assert est.device_.type == "cuda"
    if name == "FastICA":
        assert est.backend_ == "torch"
    else:
        assert _module_device(est) == "cuda"


def _without_cuda(monkeypatch):
    # What a CPU-only machine reports; torch itself still works on the CPU.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("name", ["FastICA", "TCL", "PCL", "SlowVAE"])
def test_gpu_checkpoint_loads_on_gpu_and_on_a_cpu_machine(name, tmp_path, monkeypatch):
    est, X = _tiny_fitted(name, "cuda")
    S = est.transform(X)
    path = tmp_path / f"{name}.pt"
    est.save(path)

    again = nlica.load(path)  # CUDA available: back on the GPU
    assert again.device_.type == "cuda"
    np.testing.assert_allclose(again.transform(X), S, atol=1e-5)

    with monkeypatch.context() as m:
        _without_cuda(m)
        on_cpu = nlica.load(path)
    assert on_cpu.device_.type == "cpu"
    assert _module_device(on_cpu) in (None, "cpu")
    np.testing.assert_allclose(on_cpu.transform(X), S, atol=1e-4)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("name", ["FastICA", "TCL", "PCL", "SlowVAE"])
def test_gpu_model_pickles_and_clones(name, monkeypatch):
    est, X = _tiny_fitted(name, "cuda")
    S = est.transform(X)
    state = pickle.dumps(est)

    again = pickle.loads(state)
    assert again.device_.type == "cuda"
    np.testing.assert_allclose(again.transform(X), S, atol=1e-5)

    with monkeypatch.context() as m:
        _without_cuda(m)
        on_cpu = pickle.loads(state)
    if name != "FastICA":  # FastICA keeps device_ as fitted; its transform is numpy
        assert on_cpu.device_.type == "cpu"
    assert _module_device(on_cpu) in (None, "cpu")
    np.testing.assert_allclose(on_cpu.transform(X), S, atol=1e-4)

    fresh = sklearn.clone(est)
    assert fresh.get_params() == est.get_params()
    assert not hasattr(fresh, "device_")
    assert fresh.fit(X, **({} if name == "FastICA" else _fit_kwargs(name))).device_.type == ("cuda")


def _fit_kwargs(name):
    return PROBLEMS[name]()["fit"]


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_bf16_precision_fits_and_recovers(name):
    problem = PROBLEMS[name]()
    if "precision" not in problem["cls"]().get_params():
        pytest.skip(f"{name} has no precision parameter")
    est = _fit(problem, "cuda", precision="bf16")
    S = est.transform(problem["X"])
    assert S.dtype == problem["X"].dtype
    assert np.all(np.isfinite(S))
    assert all(np.isfinite(h["loss"]) for h in est.history_)
    # bf16 rounds the activations; recovery may be a little worse than float32.
    assert _mcc(problem, est) >= MIN_MCC - 0.1


@pytest.mark.gpu
@requires_cuda
def test_compiled_training_fits():
    problem = _tcl_problem()
    if "compile" not in TCL().get_params():
        pytest.skip("TCL has no compile parameter")
    est = _fit(problem, "cuda", compile=True, max_iter=300, n_init=1)
    S = est.transform(problem["X"])
    assert np.all(np.isfinite(S)) and est.n_iter_ == 300
    # The fitted model is a plain module again: it pickles.
    assert pickle.loads(pickle.dumps(est)).transform(problem["X"][:10]).shape == (10, 3)


# ---------------------------------------------------------- the benchmark script
@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_gpu", module)
    spec.loader.exec_module(module)
    return module


def test_bench_quick_cpu_writes_json(bench, tmp_path, capsys):
    path = tmp_path / "out" / "bench_gpu.json"
    n_threads = torch.get_num_threads()
    sections = bench.main(
        ["--quick", "--device", "cpu", "--sections", "fastica,steps", "--json", str(path)]
    )
    assert torch.get_num_threads() == n_threads  # restored after the run
    out = capsys.readouterr().out
    assert "nlica GPU benchmark" in out and "CPU:" in out and "GPU: none" in out
    assert "steps/s" in out and "amari" in out

    payload = json.loads(path.read_text())
    assert payload["benchmark"] == "gpu" and payload["gpu"] is None
    assert set(payload["sections"]) == {"fastica", "steps"} == set(sections)
    assert payload["environment"]["cpu"]
    rows = payload["rows"]
    assert rows and all(r["status"] == "ok" for r in rows), [r.get("error") for r in rows]
    fastica = payload["sections"]["fastica"]
    assert [r["method"] for r in fastica] == [
        "sklearn",
        "nlica numpy",
        "nlica torch",
        "nlica torch",
    ]
    for r in fastica:
        assert r["seconds"] > 0 and 0 <= r["amari"] < 0.1
    assert fastica[0]["ratio"] == pytest.approx(1.0)
    steps = payload["sections"]["steps"]
    assert {r["method"] for r in steps} == {"TCL", "PCL", "SlowVAE", "IVAE"}
    for r in steps:
        assert r["device"] == "cpu" and r["steps"] == 200
        assert r["steps_per_s"] > 0 and np.isfinite(r["loss"])


def test_bench_quick_ivae_section(bench, capsys):
    sections = bench.main(["--quick", "--device", "cpu", "--sections", "ivae"])
    rows = sections["ivae"]
    assert [r["method"] for r in rows] == ["IVAE"] and rows[0]["status"] == "ok"
    assert rows[0]["n_iter"] == 300 and 0.0 <= rows[0]["mcc"] <= 1.0
    assert rows[0]["rule"] == "pearson vs s"
    assert "IVAE at the iVAE paper's size" in capsys.readouterr().out


def test_bench_budget_skips_rows(bench, capsys):
    sections = bench.main(
        ["--quick", "--device", "cpu", "--sections", "pcl,tcl", "--budget", "1e-6"]
    )
    assert list(sections) == ["tcl", "pcl"]  # the script's order, not the option's
    assert all(r["status"] == "skipped" for rows in sections.values() for r in rows)
    assert "skipped (budget)" in capsys.readouterr().out


def test_bench_rejects_unknown_section(bench):
    with pytest.raises(SystemExit):
        bench.parse_args(["--sections", "fastica,nope"])


def test_bench_without_cuda_says_so(bench):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    gpu, message = bench.resolve_gpu("cuda")
    assert gpu is None and "CUDA is not available" in message
    assert bench.resolve_gpu("cpu")[0] is None


def test_bench_gpu_rows_follow_the_estimator_parameters(bench):
    class Plain(sklearn.base.BaseEstimator):
        def __init__(self, device="auto"):
            self.device = device

    class Both(Plain):
        def __init__(self, device="auto", precision="float32", compile=False):
            self.device = device
            self.precision = precision
            self.compile = compile

    assert bench._variants(Plain, None) == ([("cpu", "float32", {})], [])
    first, later = bench._variants(Plain, "cuda")
    assert [v[1] for v in first] == ["float32", "float32"] and later == []
    first, later = bench._variants(Both, "cuda:1")
    assert [(d, v) for d, v, _ in first] == [
        ("cpu", "float32"),
        ("cuda:1", "float32"),
        ("cuda:1", "bf16"),
    ]
    assert [v for _, v, _ in later] == ["bf16+compile", "compile"]
    assert later[0][2] == {"precision": "bf16", "compile": True}


def test_bench_steady_rate_leaves_out_the_first_interval(bench):
    history = [{"step": 100, "time": 5.0}, {"step": 200, "time": 6.0}, {"step": 300, "time": 7.0}]
    assert bench.steady_rate(history) == pytest.approx(100.0)
    assert bench.steady_rate(history[:1]) == pytest.approx(20.0)
    assert bench.steady_rate([]) is None
