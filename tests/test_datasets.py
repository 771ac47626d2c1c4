import numpy as np
import pytest
from scipy.stats import kurtosis

from nlica import datasets
from nlica.datasets import (
    LinearMixing,
    MLPMixing,
    make_ar_sources,
    make_iid_sources,
    make_laplace_transition_sources,
    make_linear_mixing,
    make_mlp_mixing,
    make_nonstationary_sources,
    make_pcl_dataset,
    make_slowvae_dataset,
    make_tcl_dataset,
)

# --------------------------------------------------------------------------------------------
# shapes, dtypes, seeds
# --------------------------------------------------------------------------------------------

SOURCE_MAKERS = {
    "nonstationary": lambda rs: make_nonstationary_sources(
        3, n_segments=4, segment_length=50, random_state=rs
    )[0],
    "ar": lambda rs: make_ar_sources(3, 200, random_state=rs),
    "laplace_transition": lambda rs: make_laplace_transition_sources(
        3, 200, n_groups=2, random_state=rs
    )[0],
    "iid": lambda rs: make_iid_sources(3, 200, distribution="mixed", random_state=rs),
}

BUNDLE_MAKERS = {
    "tcl": lambda rs: make_tcl_dataset(3, 2, n_segments=4, segment_length=50, random_state=rs),
    "pcl": lambda rs: make_pcl_dataset(3, 2, n_samples=200, random_state=rs),
    "slowvae": lambda rs: make_slowvae_dataset(3, 2, n_samples=200, n_groups=2, random_state=rs),
}


@pytest.mark.parametrize("name", SOURCE_MAKERS)
def test_sources_shape_dtype_and_seeds(name):
    make = SOURCE_MAKERS[name]
    S = make(0)
    assert S.shape == (200, 3)
    assert S.dtype == np.float64
    assert np.all(np.isfinite(S))
    np.testing.assert_array_equal(S, make(0))
    assert not np.allclose(S, make(1))
    # a RandomState instance is accepted too
    np.testing.assert_array_equal(S, make(np.random.RandomState(0)))


@pytest.mark.parametrize("name", BUNDLE_MAKERS)
def test_bundles_keys_shapes_and_seeds(name):
    make = BUNDLE_MAKERS[name]
    data = make(0)
    for key in ("X", "S", "target", "groups", "mixing", "DESCR"):
        assert key in data
    assert data.X.shape == data.S.shape == data.target.shape == (200, 3)
    assert data.X.dtype == data.S.dtype == np.float64
    np.testing.assert_allclose(data.X, data.mixing(data.S))
    again = make(0)
    np.testing.assert_array_equal(data.X, again.X)
    np.testing.assert_array_equal(data.S, again.S)
    other = make(1)
    assert not np.allclose(data.S, other.S)
    assert not np.allclose(data.mixing.weights[0], other.mixing.weights[0])
    assert isinstance(data.DESCR, str) and data.DESCR


def test_bundle_targets_and_labels():
    tcl = BUNDLE_MAKERS["tcl"](0)
    np.testing.assert_array_equal(tcl.target, np.abs(tcl.S))
    np.testing.assert_array_equal(tcl.segments, np.repeat(np.arange(4), 50))
    assert tcl.groups is None
    assert tcl.mixing.n_layers == 2

    pcl = BUNDLE_MAKERS["pcl"](0)
    np.testing.assert_array_equal(pcl.target, pcl.S)
    assert pcl.groups is None

    slow = BUNDLE_MAKERS["slowvae"](0)
    np.testing.assert_array_equal(slow.target, slow.S)
    np.testing.assert_array_equal(slow.groups, np.repeat([0, 1], 100))
    assert slow.groups.dtype.kind == "i"


@pytest.mark.parametrize(
    "bundle, sources",
    [
        (
            lambda: make_tcl_dataset(3, 1, n_segments=4, segment_length=50, random_state=0),
            lambda: make_nonstationary_sources(3, 4, 50, random_state=0)[0],
        ),
        (
            lambda: make_pcl_dataset(3, 1, n_samples=200, random_state=0),
            lambda: make_ar_sources(3, 200, random_state=0),
        ),
        (
            lambda: make_slowvae_dataset(3, 1, n_samples=200, random_state=0),
            lambda: make_laplace_transition_sources(3, 200, random_state=0)[0],
        ),
    ],
    ids=["tcl", "pcl", "slowvae"],
)
def test_bundle_sources_and_mixing_use_separate_streams(bundle, sources):
    # The bundle's seed is split into derived streams: neither the sources nor the mixing
    # are what their generators give for the bundle's seed itself.
    data = bundle()
    assert not np.allclose(data.S, sources())
    assert not np.allclose(data.mixing.A, make_mlp_mixing(3, 1, random_state=0).A)


# --------------------------------------------------------------------------------------------
# mixing
# --------------------------------------------------------------------------------------------


def test_linear_mixing_is_conditioned_with_unit_columns():
    mixing = make_linear_mixing(5, random_state=0)
    assert isinstance(mixing, LinearMixing)
    assert mixing.A.shape == (5, 5)
    assert mixing.n_layers == 1
    assert mixing.weights[0] is mixing.A
    np.testing.assert_allclose(np.linalg.norm(mixing.A, axis=0), 1.0)
    threshold = datasets._cond_threshold(5, 5, 10000, 25)
    assert np.linalg.cond(mixing.A) <= threshold


def test_threshold_matches_reference_and_ignores_user_seed():
    # docs/papers.rst: about 6.3 for n=5, 16 for n=10 (25th percentile of 10 000 draws).
    assert 5.5 < datasets._cond_threshold(5, 5, 10000, 25) < 7.5
    assert 14.0 < datasets._cond_threshold(10, 10, 10000, 25) < 18.0
    # Recomputed from scratch, the threshold is the same (a fixed private seed), and drawing
    # a mixing does not disturb the global numpy RNG.
    cached = datasets._cond_threshold(5, 5, 10000, 25)
    datasets._cond_threshold.cache_clear()
    global_state = np.random.get_state()[1].copy()  # noqa: NPY002 (the global RNG on purpose)
    assert datasets._cond_threshold(5, 5, 10000, 25) == cached
    np.testing.assert_array_equal(np.random.get_state()[1], global_state)  # noqa: NPY002
    # A stricter percentile gives a lower threshold.
    assert datasets._cond_threshold(5, 5, 10000, 5) < datasets._cond_threshold(5, 5, 10000, 25)


def test_explicit_threshold_is_respected():
    for seed in range(5):
        A = make_linear_mixing(4, cond_threshold=3.0, random_state=seed).A
        assert np.linalg.cond(A) <= 3.0


def test_rectangular_linear_mixing_and_inverse():
    mixing = make_linear_mixing(6, n_sources=3, random_state=0)
    assert mixing.A.shape == (6, 3)
    assert mixing.n_sources == 3 and mixing.n_features == 6
    np.testing.assert_allclose(np.linalg.norm(mixing.A, axis=0), 1.0)
    S = make_iid_sources(3, 100, random_state=1)
    X = mixing(S)
    assert X.shape == (100, 6)
    np.testing.assert_allclose(mixing.inverse(X), S, atol=1e-8, rtol=0)


@pytest.mark.parametrize("n_layers", [1, 2, 3, 4, 5])
def test_mlp_layers_conditioned_and_inverse_exact(n_layers):
    mixing = make_mlp_mixing(5, n_layers, random_state=n_layers)
    assert isinstance(mixing, MLPMixing)
    assert mixing.n_layers == n_layers == len(mixing.weights)
    assert mixing.slope == 0.2
    threshold = datasets._cond_threshold(5, 5, 10000, 25)
    for W in mixing.weights:
        assert W.shape == (5, 5)
        assert np.linalg.cond(W) <= threshold
        np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0)
    S = make_iid_sources(5, 2000, random_state=0) * 3
    X = mixing(S)
    assert X.dtype == np.float64
    np.testing.assert_allclose(mixing.inverse(X), S, atol=1e-8, rtol=0)


def test_mlp_forward_matches_explicit_formula():
    mixing = make_mlp_mixing(4, 3, slope=0.3, random_state=0)
    S = make_iid_sources(4, 50, random_state=0)
    A1, A2, A3 = mixing.weights

    def leaky(h):
        return np.maximum(h, 0) + 0.3 * np.minimum(h, 0)

    expected = (A3 @ leaky(A2 @ leaky(A1 @ S.T))).T
    np.testing.assert_allclose(mixing(S), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(mixing(S), mixing.transform(S))
    # the nonlinearity is really there: a deep mixing is not linear in S
    assert not np.allclose(mixing(-S), -mixing(S))


def test_one_layer_mlp_is_linear_and_exposes_A():
    mixing = make_mlp_mixing(4, 1, random_state=0)
    S = make_iid_sources(4, 100, random_state=0)
    np.testing.assert_allclose(mixing(S), S @ mixing.A.T, rtol=1e-12, atol=1e-12)
    assert mixing.A is mixing.weights[0]
    # same draw as the linear maker with the same seed
    np.testing.assert_array_equal(mixing.A, make_linear_mixing(4, random_state=0).A)


def test_deep_mlp_has_no_A():
    mixing = make_mlp_mixing(4, 2, random_state=0)
    assert not hasattr(mixing, "A")
    with pytest.raises(AttributeError, match="n_layers"):
        mixing.A  # noqa: B018


def test_mixing_does_not_modify_input():
    mixing = make_mlp_mixing(3, 3, random_state=0)
    S = make_iid_sources(3, 30, random_state=0)
    S_copy = S.copy()
    X = mixing(S)
    np.testing.assert_array_equal(S, S_copy)
    X_copy = X.copy()
    mixing.inverse(X)
    np.testing.assert_array_equal(X, X_copy)


def test_mixing_weights_are_protected_and_copied():
    A = np.array([[1.0, 0.5], [0.0, 1.0]])
    mixing = LinearMixing(A)
    A[0, 0] = 100.0
    assert mixing.A[0, 0] == 1.0
    with pytest.raises(ValueError):
        mixing.A[0, 0] = 5.0


def test_mixing_rejects_wrong_shapes():
    mixing = make_mlp_mixing(3, 2, random_state=0)
    with pytest.raises(ValueError, match="S must have shape"):
        mixing(np.ones((10, 4)))
    with pytest.raises(ValueError, match="X must have shape"):
        mixing.inverse(np.ones(3))
    with pytest.raises(ValueError, match="weights"):
        MLPMixing([np.ones((2, 3))])
    with pytest.raises(ValueError, match="slope"):
        MLPMixing([np.eye(2)], slope=0.0)


def test_mixing_repr():
    assert "n_layers=2" in repr(make_mlp_mixing(3, 2, random_state=0))


# --------------------------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------------------------


def test_nonstationary_sources_segments_and_variances():
    S, segments = make_nonstationary_sources(4, 20, 2000, random_state=0)
    assert S.shape == (40000, 4)
    assert segments.dtype.kind == "i"
    np.testing.assert_array_equal(segments, np.repeat(np.arange(20), 2000))
    stds = np.array([S[segments == k].std(axis=0) for k in range(20)])
    # per-segment scales are U(0, 1): they vary a lot across segments and stay below ~1
    assert stds.shape == (20, 4)
    assert np.all(stds.std(axis=0) > 0.1)
    assert stds.max() < 1.1
    # within a segment the source is a scaled unit Laplace: excess kurtosis near 3
    assert kurtosis(S[segments == 0, 0]) > 1.5


def test_ar_sources_autocorrelation_and_variance():
    S = make_ar_sources(3, 2**15, rho=0.7, random_state=0)
    np.testing.assert_allclose(S.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(S.std(axis=0), 1.0, atol=1e-12)
    lag1 = (S[1:] * S[:-1]).mean(axis=0)
    np.testing.assert_allclose(lag1, 0.7, atol=0.03)
    # Laplace innovations: residuals are super-Gaussian; Gaussian ones are not
    resid = S[1:] - 0.7 * S[:-1]
    assert np.all(kurtosis(resid) > 1.5)
    G = make_ar_sources(3, 2**15, rho=0.7, innovations="gaussian", random_state=0)
    assert np.all(np.abs(kurtosis(G[1:] - 0.7 * G[:-1])) < 0.3)


def test_ar_sources_negative_rho():
    S = make_ar_sources(2, 2**14, rho=-0.5, random_state=0)
    np.testing.assert_allclose((S[1:] * S[:-1]).mean(axis=0), -0.5, atol=0.04)


def test_laplace_transition_sources():
    S, groups = make_laplace_transition_sources(3, 30000, rate=6.0, n_groups=3, random_state=0)
    assert S.shape == (30000, 3)
    np.testing.assert_array_equal(groups, np.repeat([0, 1, 2], 10000))
    np.testing.assert_allclose(S.std(axis=0), 1.0, atol=1e-12)
    # increments within each recording are sparse: positive excess kurtosis
    inc = np.concatenate([np.diff(S[groups == g], axis=0) for g in range(3)])
    assert np.all(kurtosis(inc) > 1.0)
    # slow: strong lag-1 autocorrelation (decay sqrt(1 - 2/36) ~ 0.97)
    lag1 = (S[1:] * S[:-1]).mean(axis=0)
    assert np.all(lag1 > 0.9)


def test_laplace_transition_sources_unequal_groups_and_random_walk():
    S, groups = make_laplace_transition_sources(2, 101, n_groups=2, random_state=0)
    assert np.bincount(groups).tolist() == [51, 50]
    W, g = make_laplace_transition_sources(2, 500, rate=1.0, stationary=False, random_state=0)
    assert W.shape == (500, 2) and np.all(g == 0)
    np.testing.assert_allclose(W.std(axis=0), 1.0, atol=1e-12)


def test_laplace_transition_recordings_are_independent_starts():
    # Each recording restarts: the jump across a boundary is not a small Laplace step.
    S, groups = make_laplace_transition_sources(1, 2000, rate=50.0, n_groups=1000, random_state=0)
    within = np.abs(np.diff(S[:, 0]))[np.diff(groups) == 0]
    across = np.abs(np.diff(S[:, 0]))[np.diff(groups) != 0]
    assert np.median(across) > 5 * np.median(within)


@pytest.mark.parametrize(
    "distribution, sign",
    [("laplace", 1), ("uniform", -1), ("gaussian", 0)],
)
def test_iid_sources_moments(distribution, sign):
    S = make_iid_sources(3, 20000, distribution=distribution, random_state=0)
    np.testing.assert_allclose(S.std(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(S.mean(axis=0), 0.0, atol=1e-12)
    k = kurtosis(S)
    if sign == 0:
        assert np.all(np.abs(k) < 0.2)
    else:
        assert np.all(sign * k > 0.8)


def test_iid_mixed_alternates_signs():
    S = make_iid_sources(5, 20000, distribution="mixed", random_state=0)
    signs = np.sign(kurtosis(S))
    np.testing.assert_array_equal(signs, [1, -1, 1, -1, 1])


# --------------------------------------------------------------------------------------------
# bad arguments
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "func, kwargs, name",
    [
        (make_nonstationary_sources, {"n_sources": 0}, "n_sources"),
        (make_nonstationary_sources, {"n_segments": 0}, "n_segments"),
        (make_nonstationary_sources, {"segment_length": 1}, "segment_length"),
        (make_nonstationary_sources, {"n_sources": 2.5}, "n_sources"),
        (make_nonstationary_sources, {"n_sources": True}, "n_sources"),
        (make_ar_sources, {"rho": 1.0}, "rho"),
        (make_ar_sources, {"rho": -1.0}, "rho"),
        (make_ar_sources, {"rho": np.nan}, "rho"),
        (make_ar_sources, {"n_samples": 1}, "n_samples"),
        (make_ar_sources, {"innovations": "cauchy"}, "innovations"),
        (make_laplace_transition_sources, {"rate": 1.0}, "rate"),
        (make_laplace_transition_sources, {"rate": 0.0, "stationary": False}, "rate"),
        (make_laplace_transition_sources, {"n_groups": 0}, "n_groups"),
        (make_laplace_transition_sources, {"n_samples": 5, "n_groups": 3}, "n_samples"),
        (make_iid_sources, {"distribution": "cauchy"}, "distribution"),
        (make_iid_sources, {"n_sources": 0}, "n_sources"),
        (make_linear_mixing, {"n_features": 0}, "n_features"),
        (make_linear_mixing, {"n_features": 3, "n_sources": 4}, "n_sources"),
        (make_linear_mixing, {"n_features": 3, "cond_threshold": 0.5}, "cond_threshold"),
        (make_linear_mixing, {"n_features": 3, "cond_percentile": 0}, "cond_percentile"),
        (make_linear_mixing, {"n_features": 3, "n_draws": 0}, "n_draws"),
        (make_mlp_mixing, {"n_features": 3, "n_layers": 0}, "n_layers"),
        (make_mlp_mixing, {"n_features": 3, "n_layers": 2, "slope": 0.0}, "slope"),
        (make_mlp_mixing, {"n_features": 0, "n_layers": 2}, "n_features"),
        (make_tcl_dataset, {"n_layers": 0}, "n_layers"),
        (make_tcl_dataset, {"segment_length": 1}, "segment_length"),
        (make_pcl_dataset, {"rho": 1.5}, "rho"),
        (make_slowvae_dataset, {"rate": 1.0}, "rate"),
        (make_slowvae_dataset, {"n_sources": 0}, "n_sources"),
    ],
)
def test_bad_arguments_raise_value_error_naming_parameter(func, kwargs, name):
    with pytest.raises(ValueError, match=name):
        func(**kwargs)


def test_impossible_threshold_raises(monkeypatch):
    monkeypatch.setattr(datasets, "_MAX_REDRAWS", 10)
    with pytest.raises(RuntimeError, match="cond_threshold"):
        make_linear_mixing(5, cond_threshold=1.0, random_state=0)


def test_public_api_listed():
    for name in datasets.__all__:
        assert hasattr(datasets, name)
