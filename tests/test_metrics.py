"""Tests for nlica.metrics: MCC, Amari distance and the identifiability report."""

import doctest
import json
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nlica import metrics
from nlica.metrics import (
    IdentifiabilityReport,
    amari_distance,
    identifiability_report,
    mean_corr_coef,
)


def _sources(n_samples=2000, n_components=4, seed=0):
    return np.random.default_rng(seed).laplace(size=(n_samples, n_components))


def _amari_loop(W, A):
    """Amari distance written out with plain loops, as in the textbook formula."""
    P = np.asarray(W) @ np.asarray(A)
    n = P.shape[0]
    total = 0.0
    for i in range(n):
        row_max = max(abs(P[i, k]) for k in range(n))
        total += sum(abs(P[i, j]) / row_max for j in range(n)) - 1.0
    for j in range(n):
        col_max = max(abs(P[k, j]) for k in range(n))
        total += sum(abs(P[i, j]) / col_max for i in range(n)) - 1.0
    return total / (2.0 * n * (n - 1))


# --- mean_corr_coef -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_mcc_is_one_for_permuted_rescaled_sign_flipped_copy(method):
    S = _sources()
    perm = np.array([2, 0, 3, 1])
    scales = np.array([-3.0, 0.2, 5.0, -0.01])
    S_est = S[:, perm] * scales  # estimated column j is true column perm[j]

    mcc, matching = mean_corr_coef(S, S_est, method=method, return_matching=True)

    assert mcc == pytest.approx(1.0, abs=1e-12)
    expected = np.column_stack([np.arange(4), np.argsort(perm)])
    np.testing.assert_array_equal(matching, expected)
    assert matching.dtype.kind == "i"
    assert isinstance(mcc, float)


def test_mcc_of_independent_sources_is_low():
    S = _sources(n_samples=5000, n_components=5, seed=0)
    other = _sources(n_samples=5000, n_components=5, seed=1)
    for method in ("pearson", "spearman"):
        assert mean_corr_coef(S, other, method=method) < 0.2


def test_mcc_is_mean_of_matched_absolute_correlations():
    # Two true sources; estimate 0 is a noisy copy of source 1 and estimate 1 is -source 0.
    rng = np.random.default_rng(3)
    S = rng.normal(size=(3000, 2))
    S_est = np.column_stack([S[:, 1] + 0.5 * rng.normal(size=3000), -S[:, 0]])
    r = np.corrcoef(S[:, 1], S_est[:, 0])[0, 1]
    mcc, matching = mean_corr_coef(S, S_est, return_matching=True)
    assert mcc == pytest.approx((abs(r) + 1.0) / 2.0, abs=1e-12)
    np.testing.assert_array_equal(matching, [[0, 1], [1, 0]])


def test_mcc_uses_optimal_not_greedy_matching():
    # |corr| (true x est) = [[0.7, 0.6], [0.6, 0.0]]. Greedy (largest first) takes
    # (0, 0) then (1, 1): mean 0.35. The optimal matching crosses over: (0.6 + 0.6) / 2.
    z = np.random.default_rng(0).normal(size=(1000, 4))
    z, _ = np.linalg.qr(z - z.mean(0))  # orthonormal, zero-mean: correlations are exact
    a, b, c, d = z.T
    e0 = 0.7 * a + 0.6 * b + np.sqrt(1 - 0.49 - 0.36) * c
    e1 = 0.6 * a + 0.8 * d
    mcc, matching = mean_corr_coef(
        np.column_stack([a, b]), np.column_stack([e0, e1]), return_matching=True
    )
    np.testing.assert_array_equal(matching, [[0, 1], [1, 0]])
    assert mcc == pytest.approx(0.6, abs=1e-12)


def test_mcc_more_estimated_than_true_leaves_noise_columns_out():
    rng = np.random.default_rng(1)
    S = _sources(n_components=3)
    noise = rng.normal(size=(S.shape[0], 4))
    columns = [noise[:, 0], noise[:, 1], -2 * S[:, 2], noise[:, 2], S[:, 0], S[:, 1], noise[:, 3]]
    S_est = np.column_stack(columns)
    mcc, matching = mean_corr_coef(S, S_est, return_matching=True)
    assert mcc == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_array_equal(matching, [[0, 4], [1, 5], [2, 2]])


def test_mcc_fewer_estimated_than_true_matches_each_estimate():
    S = _sources(n_components=4)
    S_est = S[:, [3, 1]] * [2.0, -1.0]
    mcc, matching = mean_corr_coef(S, S_est, return_matching=True)
    assert matching.shape == (2, 2)
    np.testing.assert_array_equal(matching, [[1, 1], [3, 0]])  # sorted by true index
    assert mcc == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("transform", [np.exp, lambda s: s**3, lambda s: -np.tanh(s)])
def test_spearman_is_blind_to_monotone_transforms_pearson_is_not(transform):
    S = _sources()
    S_est = transform(S[:, ::-1])
    assert mean_corr_coef(S, S_est, method="spearman") == pytest.approx(1.0, abs=1e-12)
    assert mean_corr_coef(S, S_est, method="pearson") < 0.98


def test_spearman_handles_ties_like_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(2)
    x = rng.integers(0, 5, size=300).astype(float)
    y = x + rng.integers(0, 3, size=300)
    expected = abs(spearmanr(x, y).statistic)
    assert mean_corr_coef(x, y, method="spearman") == pytest.approx(expected, abs=1e-12)
    assert mean_corr_coef(x, y) == pytest.approx(abs(np.corrcoef(x, y)[0, 1]), abs=1e-12)


def test_mcc_accepts_1d_inputs_and_lists():
    s = np.linspace(-1, 1, 50)
    assert mean_corr_coef(s, -3 * s) == pytest.approx(1.0)
    assert mean_corr_coef(s.tolist(), (s**2).reshape(-1, 1)) == pytest.approx(0.0, abs=1e-12)


def test_constant_columns_give_zero_correlation_without_warnings():
    S = _sources(n_components=2)
    S_est = np.column_stack([np.full(S.shape[0], 0.1), S[:, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("pearson", "spearman"):
            mcc = mean_corr_coef(S, S_est, method=method)
            assert mcc == pytest.approx(0.5, abs=1e-12)
            assert mean_corr_coef(np.ones((10, 2)), np.ones((10, 3)), method=method) == 0.0
        report = identifiability_report(S, S_est)
    # The constant estimate (matched to source 0) has no scale that maps it onto a source.
    np.testing.assert_array_equal(report.matching, [[0, 0], [1, 1]])
    assert report.scales[0] == 0.0 and report.signs[0] == 1.0
    assert report.r2_linear[0] == 0.0 and report.r2_nonlinear[0] == 0.0
    json.dumps(report.to_dict(), allow_nan=False)


def test_mcc_survives_huge_and_tiny_magnitudes():
    S = _sources(n_components=2)
    assert mean_corr_coef(S * 1e300, S * 1e-300) == pytest.approx(1.0, abs=1e-12)


# --- amari_distance -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 7])
def test_amari_is_zero_for_scaled_permutation_of_inverse(n):
    rng = np.random.default_rng(n)
    A = rng.normal(size=(n, n))
    P = np.eye(n)[rng.permutation(n)]
    D = np.diag(rng.uniform(0.5, 3, size=n) * rng.choice([-1, 1], size=n))
    W = P @ D @ np.linalg.inv(A)
    assert amari_distance(W, A) == pytest.approx(0.0, abs=1e-10)
    # Anything else is strictly positive.
    assert amari_distance(W + 0.1 * rng.normal(size=(n, n)), A) > 1e-3


def test_amari_hand_worked_example():
    # P = W @ A = [[1, 0.5], [0, 2]], n = 2, normaliser 2 n (n - 1) = 4.
    #   rows:    (1 + 0.5) / 1 - 1 = 0.5      (0 + 2) / 2 - 1 = 0
    #   columns: (1 + 0) / 1 - 1 = 0          (0.5 + 2) / 2 - 1 = 0.25
    #   d = (0.5 + 0 + 0 + 0.25) / 4 = 0.1875
    W = np.array([[1.0, 0.5], [0.0, 2.0]])
    assert amari_distance(W, np.eye(2)) == pytest.approx(0.1875, abs=1e-15)
    # Signs do not matter, only magnitudes.
    assert amari_distance(-W, np.eye(2)) == pytest.approx(0.1875, abs=1e-15)


def test_amari_hand_worked_3x3():
    # P = [[2, 1, 0], [0, 1, 0], [0, 0, -3]], normaliser 2 * 3 * 2 = 12.
    #   rows:    3/2 - 1 = 0.5, 1/1 - 1 = 0, 3/3 - 1 = 0
    #   columns: 2/2 - 1 = 0,   2/1 - 1 = 1, 3/3 - 1 = 0
    #   d = 1.5 / 12 = 0.125
    P = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -3.0]])
    assert amari_distance(np.eye(3), P) == pytest.approx(0.125, abs=1e-15)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_amari_worst_case_equal_magnitudes_is_one(n):
    # Every row and column sums to n times its max: each term is n - 1, 2n of them.
    signs = np.random.default_rng(n).choice([-1.0, 1.0], size=(n, n))
    assert amari_distance(3.0 * signs, np.eye(n)) == 1.0


def test_amari_matches_loop_implementation():
    rng = np.random.default_rng(0)
    for _ in range(20):
        k = int(rng.integers(2, 7))
        n = int(rng.integers(k, 9))
        W, A = rng.normal(size=(k, n)), rng.normal(size=(n, k))
        assert amari_distance(W, A) == pytest.approx(_amari_loop(W, A), rel=1e-12, abs=1e-15)


def test_amari_one_component_is_zero():
    assert amari_distance([[2.0]], [[-0.5]]) == 0.0
    assert amari_distance([[1.0, 2.0]], [[3.0], [4.0]]) == 0.0


# --- identifiability_report -----------------------------------------------------------------


def test_report_exact_copy_recovers_signs_scales_and_r2():
    S = _sources(n_components=3)
    S_est = S[:, [1, 2, 0]] * [2.0, -4.0, 0.5]
    report = identifiability_report(S, S_est)
    assert isinstance(report, IdentifiabilityReport)
    np.testing.assert_array_equal(report.matching, [[0, 2], [1, 0], [2, 1]])
    np.testing.assert_allclose(report.correlations, [1.0, 1.0, -1.0], atol=1e-12)
    np.testing.assert_array_equal(report.signs, [1.0, 1.0, -1.0])
    # scale maps the estimate back onto the source: s = scale * s_est.
    np.testing.assert_allclose(report.scales, [2.0, 0.5, -0.25], rtol=1e-12)
    np.testing.assert_allclose(report.r2_linear, 1.0, atol=1e-12)
    np.testing.assert_allclose(report.r2_nonlinear, 1.0, atol=1e-12)
    assert report.mcc == pytest.approx(mean_corr_coef(S, S_est))
    assert (report.n_true, report.n_est) == (3, 3)


def test_report_scale_is_signed_std_ratio_for_noisy_pair():
    rng = np.random.default_rng(5)
    s = rng.normal(size=4000)
    y = -0.5 * s + 0.3 * rng.normal(size=4000)
    report = identifiability_report(s, y)
    r = np.corrcoef(s, y)[0, 1]
    assert report.scales[0] == pytest.approx(-s.std() / y.std(), rel=1e-12)
    assert report.r2_linear[0] == pytest.approx(r**2, rel=1e-12)
    assert report.signs[0] == -1.0


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_report_monotone_transform_nonlinear_r2_near_one(method):
    S = _sources(n_samples=3000, n_components=3)
    S_est = np.column_stack([np.exp(S[:, 2]), -(S[:, 0] ** 3), np.tanh(S[:, 1])])
    report = identifiability_report(S, S_est, method=method)
    np.testing.assert_array_equal(report.matching, [[0, 1], [1, 2], [2, 0]])
    np.testing.assert_allclose(report.r2_nonlinear, 1.0, atol=1e-9)
    assert np.all(report.r2_linear < report.r2_nonlinear - 0.05)
    np.testing.assert_array_equal(report.signs, [-1.0, 1.0, 1.0])
    assert report.method == method
    assert report.mcc == pytest.approx(mean_corr_coef(S, S_est, method=method))
    assert report.mcc == pytest.approx(np.abs(report.correlations).mean())


def test_report_unrelated_nonlinear_r2_is_small():
    report = identifiability_report(_sources(seed=0), _sources(seed=1))
    assert np.all(report.r2_nonlinear < 0.1)
    assert np.all(report.r2_nonlinear >= report.r2_linear)


def test_report_subsamples_long_inputs_deterministically():
    S = _sources(n_samples=45_001, n_components=2)
    S_est = np.column_stack([np.cbrt(S[:, 0]), _sources(n_samples=45_001, seed=9)[:, 0]])
    first = identifiability_report(S, S_est)
    second = identifiability_report(S, S_est)
    np.testing.assert_array_equal(first.matching, [[0, 0], [1, 1]])
    assert first.r2_nonlinear[0] == pytest.approx(1.0, abs=1e-9)
    # Unrelated pair: in-sample isotonic R² is ~1e-3 on ~15000 points (it would be ~0.05
    # if the subsample were only a hundred points).
    assert first.r2_nonlinear[1] < 0.005
    np.testing.assert_array_equal(first.r2_nonlinear, second.r2_nonlinear)


def test_report_str_names_rule_and_lists_every_true_component():
    S = _sources(n_components=3)
    report = identifiability_report(S, np.cbrt(S[:, [2, 0]]), method="spearman")
    text = str(report)
    assert f"MCC (spearman) = {report.mcc:.3f}" in text
    assert "1.000" in text
    lines = text.splitlines()
    assert any("R2 lin" in line and "R2 nonlin" in line for line in lines)
    # One row per true component; true 1 has no estimate.
    rows = [line.split() for line in lines if line.split() and line.split()[0].isdigit()]
    assert [row[0] for row in rows] == ["0", "1", "2"]
    assert [row[1] for row in rows] == ["1", "-", "0"]


def test_report_to_dict_is_plain_json():
    S = _sources(n_components=2)
    report = identifiability_report(S, -S)
    d = report.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back == d
    assert set(d) >= {
        "mcc",
        "method",
        "matching",
        "correlations",
        "signs",
        "scales",
        "r2_linear",
        "r2_nonlinear",
    }
    assert d["matching"] == [[0, 0], [1, 1]]
    assert d["signs"] == [-1.0, -1.0]
    assert type(d["mcc"]) is float and type(d["matching"][0][0]) is int


# --- inputs ---------------------------------------------------------------------------------


def test_inputs_are_not_modified():
    S = _sources(n_components=3)
    S_est = np.asfortranarray(np.cbrt(S[:, ::-1]) + 5.0)
    W, A = np.random.default_rng(0).normal(size=(2, 3, 3))
    originals = [x.copy() for x in (S, S_est, W, A)]
    for x in (S, S_est, W, A):
        x.flags.writeable = False  # any in-place write raises
    mean_corr_coef(S, S_est, method="spearman")
    mean_corr_coef(S, S_est)
    identifiability_report(S, S_est)
    amari_distance(W, A)
    for before, after in zip(originals, (S, S_est, W, A)):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize(
    "S_true, S_est, match",
    [
        (np.zeros((100, 2)), np.zeros((99, 2)), "S_true has 100 samples but S_est has 99"),
        (np.ones((5, 2)), np.array([[1.0, np.nan]] * 5), "S_est contains NaN or infinity"),
        (np.array([[np.inf]] * 5), np.ones((5, 1)), "S_true contains NaN or infinity"),
        (np.ones((5, 2, 2)), np.ones((5, 2)), "S_true must be a 1-D or 2-D"),
        (np.ones((5, 2)), np.ones((5, 0)), "S_est has no columns"),
        (np.ones((1, 2)), np.ones((1, 2)), "at least 2"),
    ],
)
def test_bad_sources_raise_value_error_naming_argument(S_true, S_est, match):
    with pytest.raises(ValueError, match=match):
        mean_corr_coef(S_true, S_est)
    with pytest.raises(ValueError, match=match):
        identifiability_report(S_true, S_est)


@pytest.mark.parametrize("S_est", [[["a"] * 2] * 5, np.full((5, 2), "1.5")])
def test_string_sources_raise_type_error_naming_argument(S_est):
    # Numeric strings too: estimators refuse them, so the metrics do not parse them either.
    for fn in (mean_corr_coef, identifiability_report):
        with pytest.raises(TypeError, match="S_est has dtype <U"):
            fn(np.ones((5, 2)), S_est)


@pytest.mark.parametrize("method", ["kendall", "Pearson", None, 1])
def test_bad_method_raises_naming_method_and_choices(method):
    S = np.ones((5, 2))
    with pytest.raises(ValueError, match=r"method must be one of .*pearson.*spearman"):
        mean_corr_coef(S, S, method=method)
    with pytest.raises(ValueError, match="method"):
        identifiability_report(S, S, method=method)


@pytest.mark.parametrize(
    "W, A, match",
    [
        (np.eye(3), np.eye(2), "W has 3 columns but A has 2 rows"),
        (np.ones((2, 3)), np.ones((3, 3)), "square"),
        (np.ones(3), np.eye(3), "W must be a 2-D array"),
        (np.eye(2), np.array([[1.0, np.nan], [0.0, 1.0]]), "A contains NaN or infinity"),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), np.eye(2), "zero row"),
        (np.array([[1.0, 1.0], [0.0, 0.0]]), np.eye(2), "undefined"),
        ([[0.0]], [[1.0]], "undefined"),
        (np.full((2, 2), 1e200), np.full((2, 2), 1e200), "infinity"),
    ],
)
def test_bad_amari_inputs_raise_value_error(W, A, match):
    with pytest.raises(ValueError, match=match):
        amari_distance(W, A)


def test_public_names():
    assert set(metrics.__all__) == {
        "IdentifiabilityReport",
        "amari_distance",
        "identifiability_report",
        "mean_corr_coef",
    }


def test_docstring_examples_run():
    result = doctest.testmod(metrics, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# --- properties -----------------------------------------------------------------------------

_any_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def _source_pairs(draw, elements=_any_floats):
    n = draw(st.integers(2, 30))
    k1, k2 = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    S_true = draw(arrays(np.float64, (n, k1), elements=elements))
    S_est = draw(arrays(np.float64, (n, k2), elements=elements))
    return S_true, S_est


@settings(max_examples=30, deadline=None)
@given(pair=_source_pairs(), method=st.sampled_from(["pearson", "spearman"]))
def test_property_mcc_in_unit_interval(pair, method):
    mcc, matching = mean_corr_coef(*pair, method=method, return_matching=True)
    assert 0.0 <= mcc <= 1.0
    assert matching.shape == (min(pair[0].shape[1], pair[1].shape[1]), 2)


@settings(max_examples=30, deadline=None)
@given(
    # Integer-valued entries keep every non-constant column well away from constant, so
    # rescaling cannot round a column into or out of constancy.
    pair=_source_pairs(elements=st.integers(-20, 20).map(float)),
    method=st.sampled_from(["pearson", "spearman"]),
    data=st.data(),
)
def test_property_mcc_invariant_to_permutation_sign_and_scale(pair, method, data):
    S_true, S_est = pair
    k2 = S_est.shape[1]
    perm = np.array(data.draw(st.permutations(range(k2))))
    signs = np.array(data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=k2, max_size=k2)))
    scales = np.array(data.draw(st.lists(st.floats(0.01, 100), min_size=k2, max_size=k2)))
    transformed = S_est[:, perm] * signs * scales
    expected = mean_corr_coef(S_true, S_est, method=method)
    assert mean_corr_coef(S_true, transformed, method=method) == pytest.approx(expected, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(pair=_source_pairs(elements=st.integers(-20, 20).map(float)))
def test_property_report_consistent_with_mcc(pair):
    report = identifiability_report(*pair)
    assert report.mcc == pytest.approx(mean_corr_coef(*pair), abs=1e-12)
    assert np.all((report.r2_linear >= 0) & (report.r2_linear <= 1))
    # A line is a monotone function, so the best monotone fit is at least as good.
    assert np.all(report.r2_nonlinear >= report.r2_linear - 1e-9)
    json.dumps(report.to_dict(), allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(
    P=st.integers(2, 6).flatmap(
        lambda n: arrays(np.float64, (n, n), elements=st.floats(-100, 100, allow_subnormal=False))
    )
)
def test_property_amari_in_unit_interval(P):
    assume(np.all(np.abs(P).max(axis=0) > 0) and np.all(np.abs(P).max(axis=1) > 0))
    d = amari_distance(P, np.eye(P.shape[0]))
    assert 0.0 <= d <= 1.0
    assert d == pytest.approx(_amari_loop(P, np.eye(P.shape[0])), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 8), data=st.data())
def test_property_amari_zero_for_scaled_permutations(n, data):
    perm = data.draw(st.permutations(range(n)))
    diag = data.draw(
        st.lists(st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3), min_size=n, max_size=n)
    )
    P = np.eye(n)[perm] * np.array(diag)
    assert amari_distance(P, np.eye(n)) == 0.0
    assert amari_distance(np.eye(n), P) == 0.0


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_report_finite_and_exact_at_extreme_scales(scale):
    # Squares of 1e200 overflow and of 1e-200 underflow; the report must not.
    S = _sources(n_samples=500, n_components=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = identifiability_report(S, -2.0 * scale * S)
    np.testing.assert_allclose(report.scales, -1.0 / (2.0 * scale), rtol=1e-12)
    np.testing.assert_allclose(report.r2_nonlinear, 1.0)
    assert report.mcc == pytest.approx(1.0)


def test_report_scale_beyond_float64_is_clipped():
    S = _sources(n_samples=200, n_components=1)
    report = identifiability_report(S * 1e200, S * 1e-200)
    assert report.scales[0] == np.finfo(np.float64).max
