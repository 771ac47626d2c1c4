"""Reduction (PCA to n_components), decoders and the linear/nonlinear choice of the
neural estimators."""

import numpy as np
import pytest

import nlica
from nlica import PCL, TCL, SlowVAE
from nlica.datasets import make_pcl_dataset, make_tcl_dataset
from nlica.metrics import mean_corr_coef

FAST = dict(device="cpu", random_state=0)


@pytest.fixture(scope="module")
def ar_linear():
    """4 AR(1) Laplace sources mixed into 6 channels, average-referenced: rank 4 of 6,
    like EEG with more channels than sources after re-referencing."""
    data = make_pcl_dataset(4, n_layers=1, n_samples=4096, random_state=0)
    A = np.random.RandomState(0).randn(4, 6)
    X = data.S @ A
    return data, X - X.mean(axis=1, keepdims=True)


@pytest.mark.parametrize("cls", [PCL, TCL, SlowVAE])
def test_reduces_to_n_components(cls, ar_linear, one_torch_thread):
    data, X = ar_linear
    est = cls(n_components=3, max_iter=30, mixing="nonlinear", **FAST).fit(X)
    assert est.whitening_.shape == (3, 6)
    assert est.transform(X).shape == (X.shape[0], 3)
    ratio = est.explained_variance_ratio_
    assert ratio.shape == (3,) and np.all(np.diff(ratio) <= 0)
    # Rank 4: three of the four directions keep most, not all, of the variance.
    assert 0.5 < ratio.sum() < 1.0


@pytest.mark.parametrize("cls", [PCL, TCL, SlowVAE])
def test_rank_deficient_without_reduction_names_the_rank(cls, ar_linear):
    _, X = ar_linear
    with pytest.raises(ValueError, match=r"pass n_components=4 or fewer"):
        cls(max_iter=5, **FAST).fit(X)


def test_reduced_pcl_recovers_sources_and_reconstructs(ar_linear, one_torch_thread):
    data, X = ar_linear
    pcl = PCL(n_components=4, max_iter=800, mixing="nonlinear", **FAST).fit(X)
    assert mean_corr_coef(data.S, pcl.transform(X)) > 0.9
    # Rank 4 kept whole: the held-out reconstruction is near exact.
    assert pcl.reconstruction_r2_ > 0.9
    recon = pcl.inverse_transform(pcl.transform(X))
    assert recon.shape == X.shape
    assert 1 - np.sum((recon - X) ** 2) / np.sum((X - X.mean(0)) ** 2) > 0.9


def test_decoders_of_contrastive_estimators(one_torch_thread, tmp_path):
    data = make_pcl_dataset(3, n_layers=2, n_samples=4096, random_state=1)
    pcl = PCL(max_iter=600, mixing="nonlinear", **FAST).fit(data.X)
    assert pcl.reconstruction_r2_ > 0.8
    S = pcl.transform(data.X)
    # Zeroing one source changes the reconstruction; keeping all reproduces X.
    S0 = S.copy()
    S0[:, 0] = 0
    assert not np.allclose(pcl.inverse_transform(S0), pcl.inverse_transform(S))
    path = tmp_path / "pcl.pt"
    pcl.save(path)
    loaded = nlica.load(path)
    np.testing.assert_allclose(loaded.inverse_transform(S), pcl.inverse_transform(S))
    # TCL's sources are magnitudes |s|: its decoder exists, but cannot restore signs.
    tcl_data = make_tcl_dataset(3, n_layers=1, n_segments=16, segment_length=128, random_state=0)
    tcl = TCL(max_iter=300, mixing="nonlinear", **FAST).fit(tcl_data.X, segments=tcl_data.segments)
    assert tcl.inverse_transform(tcl.transform(tcl_data.X)).shape == tcl_data.X.shape
    assert np.isfinite(tcl.reconstruction_r2_)


def test_linear_mixing_is_the_network_without_hidden_layers(ar_linear, one_torch_thread):
    data, X = ar_linear
    pcl = PCL(n_components=4, max_iter=800, mixing="linear", **FAST).fit(X)
    assert pcl.selected_model_ == "linear" and pcl.model_scores_ is None
    assert len(pcl.module_.features.hidden) == 0
    assert mean_corr_coef(data.S, pcl.transform(X)) > 0.95


def test_auto_mixing_keeps_the_nonlinear_model_on_nonlinear_data(one_torch_thread):
    data = make_pcl_dataset(3, n_layers=3, n_samples=8192, random_state=0)
    pcl = PCL(max_iter=800, **FAST).fit(data.X)
    scores = pcl.model_scores_
    assert set(scores) == {"linear", "nonlinear"}
    assert pcl.selected_model_ == "nonlinear" and scores["nonlinear"] > scores["linear"]
    assert len(pcl.module_.features.hidden) > 0


def test_auto_mixing_needs_enough_rows(one_torch_thread):
    data = make_pcl_dataset(2, n_layers=1, n_samples=500, random_state=0)
    pcl = PCL(max_iter=20, **FAST).fit(data.X)
    assert pcl.selected_model_ == "nonlinear" and pcl.model_scores_ is None


def test_tcl_auto_model_scores_held_out_rows_of_every_segment(one_torch_thread):
    data = make_tcl_dataset(3, n_layers=2, n_segments=16, segment_length=128, random_state=0)
    tcl = TCL(max_iter=300, **FAST).fit(data.X, segments=data.segments)
    assert set(tcl.model_scores_) == {"linear", "nonlinear"}
    assert all(0 <= v <= 1 for v in tcl.model_scores_.values())
    if tcl.selected_model_ == "nonlinear":
        assert tcl.model_scores_["nonlinear"] > tcl.model_scores_["linear"]


@pytest.mark.parametrize("layers, expected", [(1, "linear"), (3, "nonlinear")])
def test_tcl_auto_keeps_the_network_only_where_it_is_clearly_better(
    one_torch_thread, layers, expected
):
    # Linear data: the network is no better than the linear model beyond one standard
    # error of the difference, so the simpler model stays. Through 3 layers it is.
    data = make_tcl_dataset(3, n_layers=layers, n_segments=16, segment_length=250, random_state=0)
    tcl = TCL(max_iter=1500, **FAST).fit(data.X, segments=data.segments)
    assert tcl.selected_model_ == expected, tcl.model_scores_


def test_score_blocks_keep_scorable_pieces():
    from nlica._selection import _block_standard_error, _score_blocks

    blocks = _score_blocks(np.zeros(3000, dtype=int), 64)
    assert [b.size for b in blocks] == [300] * 10
    runs = np.repeat(np.arange(3), [1000, 40, 960])
    blocks = _score_blocks(runs, 64)
    assert np.array_equal(np.concatenate(blocks), np.arange(2000))
    for b in blocks:  # no new piece of a recording shorter than 64 rows
        sizes = np.bincount(runs[b])
        assert sizes[sizes > 0].min() >= 40
    values = np.array([0.1, 0.2, 0.3])
    assert np.isclose(_block_standard_error(values, np.ones(3)), values.std(ddof=1) / np.sqrt(3))


def test_linear_is_refused_for_images():
    frames = np.random.RandomState(0).rand(64, 64)
    with pytest.raises(ValueError, match="mixing='linear'"):
        SlowVAE(image_shape=(1, 8, 8), mixing="linear", max_iter=2, **FAST).fit(frames)


def test_auto_mixing_holds_out_whole_recordings(one_torch_thread):
    # 40 epochs of 50 samples: the held-out rows start at an epoch boundary, so every
    # held-out epoch can be scored (a 1-sample piece could not).
    data = make_pcl_dataset(2, n_layers=1, n_samples=2000, random_state=0)
    groups = np.repeat(np.arange(40), 50)
    pcl = PCL(max_iter=50, **FAST)
    train_idx, test_idx = pcl._split(groups, {})
    assert test_idx[0] % 50 == 0 and train_idx.size + test_idx.size == 2000
    pcl.fit(data.X, groups=groups)
    assert set(pcl.model_scores_) == {"linear", "nonlinear"}
