"""Fast smoke tests of the experiment sweeps (tiny data, a few optimiser steps)."""

import json
import sys

import numpy as np
import pytest

from nlica import experiments
from nlica.cli import main as cli_main
from nlica.experiments import (
    run_ivae_experiment,
    run_pcl_experiment,
    run_slowvae_experiment,
    run_tcl_experiment,
    summarize,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _check_rows(rows, methods, rule_word):
    assert {r["method"] for r in rows} == set(methods)
    for r in rows:
        assert 0.0 <= r["mcc"] <= 1.0
        assert rule_word in r["rule"].lower()
        assert r["seconds"] >= 0


def test_tcl_experiment_tiny():
    rows = run_tcl_experiment(
        [1], [4], n_seeds=1, n_sources=2, segment_length=64, estimator_params={"max_iter": 5}
    )
    _check_rows(rows, ["TCL", "FastICA"], "pearson")
    assert all(r["n_layers"] == 1 and r["n_segments"] == 4 for r in rows)


def test_pcl_experiment_tiny():
    rows = run_pcl_experiment(
        [1], n_seeds=1, n_sources=2, n_samples=512, estimator_params={"max_iter": 5}
    )
    _check_rows(rows, ["PCL", "FastICA"], "pearson")


def test_ivae_experiment_tiny_same_data_for_all_methods():
    kw = dict(n_seeds=1, n_sources=2, n_segments=4, segment_length=64)
    rows = run_ivae_experiment(
        [1], **kw, estimator_params={"max_iter": 5}, baseline_params={"max_iter": 5}
    )
    _check_rows(rows, ["IVAE", "TCL", "FastICA"], "pearson")
    rules = {r["method"]: r["rule"] for r in rows}
    assert rules == {"IVAE": "pearson vs s", "TCL": "pearson vs |s|", "FastICA": "pearson vs s"}
    assert all(r["n_layers"] == 1 and r["snr_db"] == "inf" for r in rows)
    # Noise changes the data (FastICA's MCC), and only IVAE runs without baselines.
    noisy = run_ivae_experiment(
        [1], **kw, snr_db=0.0, baselines=False, estimator_params={"max_iter": 5}
    )
    assert [r["method"] for r in noisy] == ["IVAE"] and noisy[0]["snr_db"] == 0.0
    fastica = [r for r in rows if r["method"] == "FastICA"][0]
    assert fastica["mcc"] > 0.95  # linear mixing, noiseless


def test_add_noise_reaches_the_asked_snr():
    from nlica.experiments.ivae import add_noise

    X = np.random.default_rng(0).standard_normal((20000, 3)) * [1.0, 10.0, 0.1]
    noise = add_noise(X, 20.0, 0) - X
    np.testing.assert_allclose(noise.var(axis=0) / X.var(axis=0), 0.01, rtol=0.05)
    np.testing.assert_array_equal(add_noise(X, 20.0, 0), add_noise(X, 20.0, 0))


def test_slowvae_experiment_tiny_both_parts():
    rows, traversals = run_slowvae_experiment(
        "both",
        [1],
        ["laplace"],
        n_seeds=1,
        n_sources=2,
        n_samples=256,
        n_frames=60,
        image_size=8,
        n_groups=2,
        estimator_params={"max_iter": 3, "batch_size": 8},
        return_traversals=True,
    )
    _check_rows(rows, ["SlowVAE", "beta-VAE", "FastICA"], "spearman")
    assert {r["part"] for r in rows} == {"vector", "sprites"}
    sprites = [r for r in rows if r["part"] == "sprites"]
    assert len(sprites) == 3
    for r in sprites:
        per = [r[f"mcc_{f}"] for f in ("scale", "orientation", "x", "y")]
        assert all(0.0 <= v <= 1.0 for v in per)
        # four continuous factors matched, extra latents left unmatched
        assert r["mcc"] == pytest.approx(np.mean(per))
        assert 0.0 <= r["mcc_scale_within_shape"] <= 1.0
    assert {t["method"] for t in traversals} == {"SlowVAE", "beta-VAE"}
    grid = traversals[0]["grid"]
    assert grid.shape == (10, 9, 8, 8)
    assert np.all((grid >= 0) & (grid <= 1))
    assert len(traversals[0]["labels"]) == 10


def test_scale_within_shape_scores_an_area_latent_as_scale():
    from scipy.stats import spearmanr

    from nlica.experiments.slowvae import _within_group_spearman

    # A latent tracking the lit area: scale times a shape's area at unit scale (square,
    # ellipse, heart). Pooled over shapes it ranks frames by area, not by scale.
    rng = np.random.default_rng(0)
    scale, shape = rng.uniform(1.0, 2.0, 900), rng.integers(0, 3, 900)
    area = scale**2 * np.array([2.56, 1.73, 2.34])[shape]
    assert abs(spearmanr(scale, area)[0]) < 0.95
    assert _within_group_spearman(scale, area, shape) == pytest.approx(1.0)
    assert _within_group_spearman(scale, -area, shape) == pytest.approx(1.0)  # |rho|
    # Weighted by group size; a constant latent within a group counts as 0 there.
    groups = np.repeat([0, 1], [100, 50])
    x = np.arange(150.0)
    z = np.where(groups == 0, x, 7.0)
    assert _within_group_spearman(x, z, groups) == pytest.approx(100 / 150)


def test_slowvae_experiment_baseline_is_gamma_zero(monkeypatch):
    seen = []
    from nlica import SlowVAE

    class Spy(SlowVAE):
        def fit(self, X, y=None, *, groups=None):
            seen.append((self.gamma, self.beta, self.posterior))
            return super().fit(X, groups=groups)

    monkeypatch.setattr(experiments.slowvae, "SlowVAE", Spy)
    run_slowvae_experiment(
        "vector", [1], n_seeds=1, n_sources=2, n_samples=128, estimator_params={"max_iter": 2}
    )
    run_slowvae_experiment(
        "sprites",
        n_seeds=1,
        n_frames=40,
        image_size=8,
        n_groups=1,
        estimator_params={"max_iter": 2, "batch_size": 4},
    )
    # On sprites SlowVAE keeps its default full posterior and the beta-VAE is the paper's
    # (diagonal posterior: without the transition prior a full one leaves it free to rotate).
    assert seen == [
        (10.0, 1.0, "full"),
        (0.0, 1.0, "full"),
        (10.0, 1.0, "full"),
        (0.0, 8.0, "diagonal"),
    ]


def test_slowvae_experiment_without_baseline_reports_progress(monkeypatch, capsys):
    # Without tqdm the progress is one plain line per job, on stderr.
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    rows, traversals = run_slowvae_experiment(
        "both",
        [1],
        n_seeds=1,
        n_sources=2,
        n_samples=128,
        n_frames=40,
        image_size=8,
        n_groups=1,
        estimator_params={"max_iter": 2, "batch_size": 4},
        baseline=False,
        return_traversals=True,
        progress=True,
    )
    assert {r["method"] for r in rows} == {"SlowVAE", "FastICA"}
    assert {t["method"] for t in traversals} == {"SlowVAE"}
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[")]
    assert len(err) == 2
    assert err[0].startswith("[1/2] slowvae experiment: vector L=1 seed=0 (SlowVAE 0.")
    assert err[1].startswith("[2/2] slowvae experiment: sprites laplace seed=0 (SlowVAE 0.")


def test_slowvae_experiment_rejects_unknown_part():
    with pytest.raises(ValueError, match="part"):
        run_slowvae_experiment("images")


def test_summarize_groups_by_method_and_keys():
    rows = [
        {"method": "A", "L": 1, "mcc": 0.2, "seconds": 1.0},
        {"method": "A", "L": 1, "mcc": 0.4, "seconds": 3.0},
        {"method": "A", "L": 2, "mcc": 0.9, "seconds": 1.0},
        {"method": "B", "L": 1, "mcc": 0.5, "seconds": 2.0},
    ]
    out = summarize(rows, ["L"])
    assert [(r["method"], r["L"], r["n_seeds"]) for r in out] == [
        ("A", 1, 2),
        ("A", 2, 1),
        ("B", 1, 1),
    ]
    first = out[0]
    assert first["mcc_mean"] == pytest.approx(0.3)
    assert (first["mcc_min"], first["mcc_max"]) == (0.2, 0.4)
    assert first["seconds"] == pytest.approx(2.0)


def test_summarize_handles_none_keys():
    rows = [
        {
            "method": "A",
            "part": "vector",
            "n_layers": 1,
            "transitions": None,
            "mcc": 0.5,
            "seconds": 1.0,
        },
        {
            "method": "A",
            "part": "sprites",
            "n_layers": None,
            "transitions": "laplace",
            "mcc": 0.7,
            "seconds": 1.0,
        },
    ]
    out = summarize(rows, ["part", "n_layers", "transitions"])
    assert {r["part"]: r["mcc_mean"] for r in out} == {"vector": 0.5, "sprites": 0.7}


def main(argv):
    """``python -m nlica experiment ...``."""
    return cli_main(["experiment", *argv])


def _check_outputs(tmp_path, name):
    saved = json.loads((tmp_path / f"{name}.json").read_text())
    assert saved["rows"] and saved["summary"]
    assert all(0.0 <= r["mcc"] <= 1.0 for r in saved["rows"])
    header = (tmp_path / f"{name}.csv").read_text().splitlines()[0]
    assert header.startswith("method,") and "mcc_mean" in header
    return saved


def test_cli_tcl_writes_outputs(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert (
        main(
            [
                "tcl",
                "--layers",
                "1",
                "--segments",
                "4",
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
            ]
        )
        == 0
    )
    assert "MCC rule" in capsys.readouterr().out
    _check_outputs(tmp_path, "tcl_experiment")
    assert (tmp_path / "tcl_experiment.png").stat().st_size > 1000


def test_cli_pcl_writes_outputs(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert (
        main(
            [
                "pcl",
                "--layers",
                "1",
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
            ]
        )
        == 0
    )
    _check_outputs(tmp_path, "pcl_experiment")
    assert (tmp_path / "pcl_experiment.png").stat().st_size > 1000


def test_cli_ivae_writes_outputs(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    argv = ["ivae", "--layers", "1", "--n-segments", "4", "--segment-length", "64"]
    argv += ["--n-sources", "2", "--seeds", "1", "--max-iter", "5", "--snr-db", "20"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "MCC rule" in out and "TCL" in out and "IVAE" in out
    _check_outputs(tmp_path, "ivae_experiment")
    rows = json.loads((tmp_path / "ivae_experiment.json").read_text())["rows"]
    assert {r["method"] for r in rows} == {"IVAE", "TCL", "FastICA"}
    # --max-iter caps the baseline too, so the smoke test stays short.
    assert all(r["snr_db"] == 20.0 for r in rows)
    assert [r["n_iter"] for r in rows if r["method"] == "TCL"] == [5]


def test_cli_ivae_quick_picks_small_settings(monkeypatch, tmp_path):
    seen = {}

    def fake(layers, **kw):
        seen.update(layers=layers, **kw)
        return [
            {"method": "IVAE", "mcc": 0.5, "seconds": 1.0, "n_layers": 1, "snr_db": "inf"},
        ]

    monkeypatch.setattr(experiments, "run_ivae_experiment", fake)
    monkeypatch.setattr(experiments.ivae, "_plot", None)
    assert main(["ivae", "--quick", "--no-baselines", "--out", str(tmp_path)]) == 0
    assert seen["layers"] == [1, 2] and seen["n_seeds"] == 1
    assert (seen["n_segments"], seen["segment_length"]) == (16, 128)
    assert seen["estimator_params"]["max_iter"] == 500 and seen["baselines"] is False


def test_cli_slowvae_writes_outputs(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert (
        main(
            [
                "slowvae",
                "--part",
                "both",
                "--layers",
                "1",
                "--seeds",
                "1",
                "--n-sources",
                "2",
                "--n-samples",
                "256",
                "--n-frames",
                "60",
                "--image-size",
                "8",
                "--n-groups",
                "2",
                "--max-iter",
                "3",
                "--batch-size",
                "8",
                "--transitions",
                "laplace",
                "natural",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "spearman" in out.lower() and "per factor" in out
    saved = _check_outputs(tmp_path, "slowvae_experiment")
    assert {r["transitions"] for r in saved["rows"] if r["part"] == "sprites"} == {
        "laplace",
        "natural",
    }
    assert (tmp_path / "slowvae_experiment.png").stat().st_size > 1000
    assert (tmp_path / "slowvae_experiment_traversal.png").stat().st_size > 1000


def test_cli_dispatch_through_package_cli(tmp_path):
    pytest.importorskip("matplotlib")
    assert (
        cli_main(
            [
                "experiment",
                "slowvae",
                "--part",
                "vector",
                "--layers",
                "1",
                "--seeds",
                "1",
                "--n-sources",
                "2",
                "--n-samples",
                "128",
                "--max-iter",
                "2",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert (tmp_path / "slowvae_experiment.json").exists()
    assert not (tmp_path / "slowvae_experiment_traversal.png").exists()
    assert experiments.__all__.count("run_slowvae_experiment") == 1


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: run_tcl_experiment(None), TypeError, "layers must be a sequence"),
        (lambda: run_tcl_experiment([1], 4), TypeError, "segments must be a sequence"),
        (lambda: run_pcl_experiment([]), ValueError, "layers is empty"),
        (lambda: run_pcl_experiment([1], n_seeds=0), ValueError, "n_seeds must be an integer"),
        (lambda: run_ivae_experiment([]), ValueError, "layers is empty"),
        (lambda: run_ivae_experiment([1], snr_db=np.inf), ValueError, "snr_db must be"),
        (lambda: run_ivae_experiment([1], baselines=["PCL"]), ValueError, "unknown \\['PCL'\\]"),
        (lambda: run_ivae_experiment([1], baselines="TCL"), TypeError, "baselines must be"),
        (
            lambda: run_slowvae_experiment("sprites", transitions=[]),
            ValueError,
            "transitions is empty",
        ),
    ],
)
def test_bad_sweeps_are_refused_before_any_job(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_save_figure_says_when_matplotlib_is_missing(tmp_path, capsys):
    from nlica.experiments._runner import save_figure

    def make():
        raise ImportError("No module named 'matplotlib'")

    assert save_figure(make, tmp_path / "fig.png") is None
    assert "matplotlib is not installed" in capsys.readouterr().out
    assert not (tmp_path / "fig.png").exists()


def test_timed_row_scores_a_linear_tcl_model_by_magnitudes():
    # TCL's linear model estimates signed sources; against |s| its |estimate| is scored.
    from nlica.experiments import _runner

    S = np.random.default_rng(0).laplace(size=(500, 3))

    class Linear:
        selected_model_ = "linear"

        def fit_transform(self, X):
            return -X

    row, estimate = _runner.timed_row(
        "TCL", Linear(), S, _runner.pearson_mcc(np.abs(S)), magnitudes=True
    )
    assert row["mcc"] > 0.999 and np.all(estimate >= 0)
    row, _ = _runner.timed_row("TCL", Linear(), S, _runner.pearson_mcc(np.abs(S)))
    assert row["mcc"] < 0.5
