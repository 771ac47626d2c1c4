import csv
import functools
import inspect
import json
import sys
from pathlib import Path

import pytest

from nlica import cli, experiments
from nlica.cli import main, run_bench, run_demo

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def no_tqdm(monkeypatch):
    # A None entry in sys.modules makes ``import tqdm`` raise ImportError.
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)


def test_demo_quick_writes_table_and_plot(tmp_path, capsys):
    rows = run_demo(tmp_path, quick=True)
    out = capsys.readouterr().out
    assert "MCC" in out and "FastICA" in out
    assert (tmp_path / "demo.png").stat().st_size > 1000
    saved = json.loads((tmp_path / "demo.json").read_text())
    assert saved == rows
    with open(tmp_path / "demo.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [(r["method"], r["mixing"]) for r in table] == [(r["method"], r["mixing"]) for r in rows]
    assert [float(r["mcc"]) for r in table] == pytest.approx([r["mcc"] for r in rows])
    linear = [
        r
        for r in rows
        if r["method"] == "FastICA" and r["mixing"] == "linear" and r["sources"] == "AR(1) Laplace"
    ]
    assert linear[0]["mcc"] > 0.99
    for r in rows:
        if r["sources"] == "nonstationary" and r["method"] == "FastICA" and r["mixing"] == "linear":
            # |FastICA| recovers |s| under linear mixing.
            assert r["mcc"] > 0.9


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["demo"],
        ["experiment"],
        ["bench"],
        ["experiment", "tcl"],
        ["experiment", "pcl"],
        ["experiment", "slowvae"],
        ["experiment", "ivae"],
    ],
    ids=lambda a: " ".join(a) or "top",
)
def test_help_of_each_command(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m nlica")
    if argv:
        assert "--out" in out or argv == ["experiment"]
    else:
        assert all(cmd in out for cmd in ("demo", "experiment", "bench"))


def test_demo_rejects_unknown_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--no-such-option"])
    assert exc.value.code == 2
    assert "--no-such-option" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags, expected",
    [
        ([], {"progress": False, "verbose": 0}),
        (["--progress"], {"progress": True, "verbose": 0}),
        (["-v", "2"], {"progress": True, "verbose": 2}),
    ],
)
def test_demo_flags_reach_run_demo(flags, expected, monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(cli, "run_demo", lambda out, **kw: seen.update(out=out, **kw))
    assert main(["demo", "--quick", "--out", str(tmp_path), *flags]) == 0
    assert seen["out"] == str(tmp_path) and seen["quick"] is True
    assert {k: seen[k] for k in expected} == expected


def _tiny_pcl(tmp_path, *flags):
    return main(
        [
            "experiment",
            "pcl",
            "--layers",
            "1",
            "2",
            "--n-samples",
            "512",
            "--n-sources",
            "2",
            "--seeds",
            "1",
            "--max-iter",
            "5",
            "--out",
            str(tmp_path),
            *flags,
        ]
    )


def test_experiment_progress_bar(tmp_path, capsys):
    pytest.importorskip("tqdm")
    pytest.importorskip("matplotlib")
    assert _tiny_pcl(tmp_path, "--progress") == 0
    captured = capsys.readouterr()
    # tqdm draws on stderr: the description, the count and the last job's MCC.
    assert "pcl experiment" in captured.err and "2/2" in captured.err
    assert "L=2 seed=0" in captured.err and "PCL 0." in captured.err
    assert "pcl experiment" not in captured.out
    for suffix in ("json", "csv", "png"):
        assert (tmp_path / f"pcl_experiment.{suffix}").stat().st_size > 100


def test_experiment_progress_plain_lines_without_tqdm(tmp_path, capsys, no_tqdm):
    assert (
        main(
            [
                "experiment",
                "tcl",
                "--layers",
                "1",
                "--segments",
                "4",
                "8",
                "--segment-length",
                "64",
                "--n-sources",
                "2",
                "--seeds",
                "1",
                "--max-iter",
                "5",
                "--out",
                str(tmp_path),
                "-v",
                "1",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err.splitlines()
    lines = [line for line in err if line.startswith("[")]
    assert lines[0].startswith("[1/2] tcl experiment: L=1 segments=4 seed=0 (TCL 0.")
    assert lines[1].startswith("[2/2] tcl experiment: L=1 segments=8 seed=0 (TCL 0.")
    assert len(lines) == 2


def test_experiment_is_quiet_without_progress(tmp_path, capsys, no_tqdm):
    assert _tiny_pcl(tmp_path) == 0
    assert "pcl experiment" not in capsys.readouterr().err


def test_experiment_verbose_2_gives_each_fit_its_bar(monkeypatch, tmp_path):
    seen = {}

    def fake(layers, **kw):
        seen.update(kw)
        return [
            {"method": m, "n_layers": L, "seed": 0, "mcc": 0.5, "seconds": 0.1}
            for L in layers
            for m in ("PCL", "FastICA")
        ]

    monkeypatch.setattr(experiments, "run_pcl_experiment", fake)
    assert _tiny_pcl(tmp_path, "-v", "2") == 0
    assert seen["progress"] is True
    assert seen["estimator_params"] == {"max_iter": 5, "verbose": 2}
    assert _tiny_pcl(tmp_path, "--progress") == 0
    assert seen["estimator_params"] == {"max_iter": 5}


def test_demo_progress_plain_lines_without_tqdm(monkeypatch, tmp_path, capsys, no_tqdm):
    import nlica

    class Quick(nlica.FastICA):
        """Stands in for the slow nonlinear estimators: the test is about the reporting."""

        def __init__(self, random_state=None, verbose=0, max_iter=200):
            super().__init__(random_state=random_state, max_iter=max_iter)
            self.verbose = verbose

        def fit(self, X, y=None, segments=None):
            return super().fit(X)

        def fit_transform(self, X, y=None, segments=None):
            return super().fit_transform(X)

    monkeypatch.setattr(experiments.demo, "TCL", Quick)
    monkeypatch.setattr(experiments.demo, "PCL", Quick)
    rows = run_demo(tmp_path, n_sources=2, quick=True, progress=True)
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[")]
    assert len(err) == len(rows) == 8
    assert err[0].startswith("[1/8] demo: FastICA on AR(1) Laplace, linear (MCC 0.")
    assert err[-1].startswith("[8/8] demo: TCL on nonstationary, MLP, 2 layers (MCC ")
    for name in ("demo.json", "demo.csv"):
        assert (tmp_path / name).exists()


_FAKE_BENCH = """
import argparse, json

def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--extra", default="none")
    args = parser.parse_args(argv)
    rows = [{"method": "a", "seconds": 1.0, "quick": args.quick, "extra": args.extra},
            {"method": "b", "seconds": 2.0, "note": "only here"}]
    with open(args.json, "w") as f:
        json.dump({"rows": rows}, f)
    return rows
"""


def test_bench_writes_json_and_csv(tmp_path, capsys):
    bench_dir = tmp_path / "benchmarks"
    bench_dir.mkdir()
    (bench_dir / "bench_fake.py").write_text(_FAKE_BENCH)
    (bench_dir / "bench_other.py").write_text(_FAKE_BENCH)
    out = tmp_path / "results"
    assert (
        run_bench(out, only=["fake"], quick=True, extra=["--extra", "x"], bench_dir=bench_dir) == 0
    )
    assert json.loads((out / "bench_fake.json").read_text())["rows"][0]["quick"] is True
    with open(out / "bench_fake.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["method"] for r in table] == ["a", "b"]
    assert table[0]["extra"] == "x" and table[1]["note"] == "only here"
    assert not (out / "bench_other.json").exists()
    assert "bench_fake.csv" in capsys.readouterr().out


def test_bench_unknown_name(tmp_path, capsys):
    (tmp_path / "bench_fake.py").write_text(_FAKE_BENCH)
    assert run_bench(tmp_path / "out", only=["nope"], bench_dir=tmp_path) == 2
    assert "nope" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_bench_command_passes_options(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(cli, "run_bench", lambda out, **kw: seen.update(out=out, **kw) or 0)
    assert (
        main(["bench", "--only", "fastica", "--quick", "--out", str(tmp_path), "--sizes", "1000x4"])
        == 0
    )
    assert seen == {
        "out": str(tmp_path),
        "only": ["fastica"],
        "quick": True,
        "extra": ["--sizes", "1000x4"],
    }


@pytest.mark.skipif(not BENCH_DIR.is_dir(), reason="needs a source checkout")
def test_real_benchmarks_have_a_main():
    import runpy

    for script in ("bench_fastica.py", "bench_nonlinear.py", "bench_slowvae.py"):
        assert callable(runpy.run_path(str(BENCH_DIR / script))["main"])


@pytest.mark.skipif(not BENCH_DIR.is_dir(), reason="needs a source checkout")
def test_supervised_ceiling_tells_a_learnable_target_from_an_unlearnable_one():
    import runpy

    import numpy as np

    ceiling = runpy.run_path(str(BENCH_DIR / "bench_nonlinear.py"))["supervised_ceiling"]
    from nlica.datasets import make_pcl_dataset

    rng = np.random.default_rng(0)
    data = make_pcl_dataset(3, n_layers=2, n_samples=4000, random_state=0)
    X, S = data.X, data.S
    X_before = X.copy()
    assert ceiling(X, S, [32, 32], 1500) > 0.95
    np.testing.assert_array_equal(X, X_before)
    # A target independent of X: nothing to predict on the held-out rows.
    assert ceiling(X, rng.laplace(size=(4000, 3)), [32, 32], 1500) < 0.15


@pytest.mark.parametrize(
    "name, own, foreign",
    [
        (
            "tcl",
            ["--segments", "--segment-length"],
            ["--rate-prior", "--gamma", "--part", "--n-samples", "--image-size"],
        ),
        ("pcl", ["--n-samples"], ["--rate-prior", "--gamma", "--part", "--segments"]),
        ("slowvae", ["--rate-prior", "--gamma", "--part", "--image-size"], ["--segments"]),
        (
            "ivae",
            ["--n-segments", "--segment-length", "--snr-db", "--quick", "--no-baselines"],
            ["--rate-prior", "--gamma", "--part", "--n-samples"],
        ),
    ],
)
def test_experiment_help_lists_its_own_options_only(name, own, foreign, capsys):
    with pytest.raises(SystemExit):
        main(["experiment", name, "--help"])
    out = capsys.readouterr().out
    assert all(opt in out for opt in own + ["--out", "--seeds", "--max-iter"])
    assert not [opt for opt in foreign if opt in out]
    with pytest.raises(SystemExit) as exc:
        main(["experiment", name, foreign[0], "1"])
    assert exc.value.code == 2


def test_bench_runs_the_gpu_benchmark_only_when_named(tmp_path):
    for name in ("fake", "gpu"):
        (tmp_path / f"bench_{name}.py").write_text(_FAKE_BENCH)
    out = tmp_path / "out"
    assert run_bench(out, bench_dir=tmp_path) == 0
    assert (out / "bench_fake.json").exists() and not (out / "bench_gpu.json").exists()
    assert run_bench(out, only=["gpu"], bench_dir=tmp_path) == 0
    assert (out / "bench_gpu.json").exists()


def test_slowvae_sprite_sizes_default_to_the_experiment_function(monkeypatch, tmp_path):
    # The CLI must not keep its own copy of run_slowvae_experiment's sprite defaults.
    seen = {}

    class Called(Exception):
        pass

    original = experiments.run_slowvae_experiment
    params = inspect.signature(original).parameters

    @functools.wraps(original)  # the parser reads the defaults from this signature
    def fake(part, layers, transitions, **kw):
        seen.update(kw)
        raise Called

    monkeypatch.setattr(experiments, "run_slowvae_experiment", fake)
    with pytest.raises(Called):
        main(["experiment", "slowvae", "--part", "sprites", "--out", str(tmp_path)])
    assert seen["n_frames"] == params["n_frames"].default
    assert seen["n_groups"] == params["n_groups"].default
