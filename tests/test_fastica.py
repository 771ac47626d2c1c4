import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import FastICA as SkFastICA
from sklearn.exceptions import ConvergenceWarning

from nlica import FastICA
from nlica.metrics import amari_distance, mean_corr_coef


def _problem(n=4000, k=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    S = rng.laplace(size=(n, k))
    A = rng.uniform(-1, 1, size=(k, k))
    X = (S @ A.T + rng.normal(size=k)).astype(dtype)
    return S, A, X


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("algorithm", ["parallel", "deflation"])
def test_recovers_sources(backend, algorithm):
    S, A, X = _problem()
    ica = FastICA(random_state=0, backend=backend, device="cpu", algorithm=algorithm)
    S_est = ica.fit_transform(X)
    assert mean_corr_coef(S, S_est) >= 0.99
    assert amari_distance(ica.components_, A) < 0.05
    assert ica.backend_ == backend


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"whiten": "arbitrary-variance"},
        {"algorithm": "deflation"},
        {"fun": "exp"},
        {"fun": "cube"},
        {"n_components": 3},
        {"fun_args": {"alpha": 1.5}},
    ],
)
def test_matches_sklearn(kwargs):
    # Same algorithm, same w_init from the same seed: the same answer to rounding.
    _, _, X = _problem(n=3000, seed=1)
    ours = FastICA(random_state=0, whiten_solver="svd", **kwargs)
    ref = SkFastICA(random_state=0, **kwargs)
    np.testing.assert_allclose(ours.fit_transform(X), ref.fit_transform(X), atol=1e-8)
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-8)
    np.testing.assert_allclose(ours.mixing_, ref.mixing_, atol=1e-8)
    assert ours.n_iter_ == ref.n_iter_


def test_eigh_whitening_agrees_with_svd():
    _, _, X = _problem(n=3000, seed=2)
    a = FastICA(random_state=0, whiten_solver="eigh").fit_transform(X)
    b = FastICA(random_state=0, whiten_solver="svd").fit_transform(X)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_torch_backend_agrees_with_numpy():
    _, _, X = _problem(n=3000, seed=3)
    a = FastICA(random_state=0, backend="numpy").fit_transform(X)
    b = FastICA(random_state=0, backend="torch", device="cpu").fit_transform(X)
    np.testing.assert_allclose(a, b, atol=1e-8)


def test_subsample_warm_start_reaches_full_data_fixed_point():
    S, A, X = _problem(n=60_000, k=5, seed=4)
    warm = FastICA(random_state=0, subsample=5000)
    cold = FastICA(random_state=0, subsample=None)
    S_warm, S_cold = warm.fit_transform(X), cold.fit_transform(X)
    # Same fixed point (up to the order/sign of components) and fewer passes over all rows.
    assert mean_corr_coef(S_cold, S_warm) > 0.999
    assert warm.n_iter_ <= cold.n_iter_
    assert mean_corr_coef(S, S_warm) > 0.99


def test_float32_preserved_and_accurate():
    S, A, X = _problem(dtype=np.float32)
    for backend in ["numpy", "torch"]:
        ica = FastICA(random_state=0, backend=backend, device="cpu")
        S_est = ica.fit_transform(X)
        assert S_est.dtype == np.float32
        assert ica.components_.dtype == np.float32
        assert ica.transform(X).dtype == np.float32
        assert mean_corr_coef(S, S_est) > 0.99


def test_inverse_transform_round_trip():
    _, _, X = _problem()
    ica = FastICA(random_state=0).fit(X)
    np.testing.assert_allclose(ica.inverse_transform(ica.transform(X)), X, atol=1e-8)


def test_unit_variance_sources():
    _, _, X = _problem()
    S_est = FastICA(random_state=0).fit_transform(X)
    np.testing.assert_allclose(S_est.std(axis=0), 1.0, atol=1e-8)


def test_callable_fun():
    S, _, X = _problem()

    def my_g(x):
        return x**3, (3 * x**2).mean(axis=-1)

    ours = FastICA(fun=my_g, random_state=0).fit_transform(X)
    cube = FastICA(fun="cube", random_state=0).fit_transform(X)
    np.testing.assert_allclose(ours, cube, atol=1e-8)


def test_convergence_warning():
    _, _, X = _problem()
    with pytest.warns(ConvergenceWarning):
        FastICA(max_iter=1, tol=0.0, random_state=0).fit(X)


def test_seed_reproducible_and_input_untouched():
    _, _, X = _problem()
    X_copy = X.copy()
    a = FastICA(random_state=7).fit_transform(X)
    b = FastICA(random_state=7).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, X_copy)


def test_read_only_and_fortran_input():
    S, _, X = _problem()
    Xf = np.asfortranarray(X)
    Xf.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert mean_corr_coef(S, FastICA(random_state=0).fit_transform(Xf)) > 0.99


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0], [0.0, 1.0]]), "NaN"),
        (np.ones(5), "2D"),
        (np.ones((1, 3)), "sample"),
        (np.ones((4, 2), dtype=complex), "complex"),
    ],
)
def test_bad_input_value_error(X, match):
    with pytest.raises(ValueError, match=match):
        FastICA().fit(X)


def test_n_components_too_large():
    _, _, X = _problem()
    with pytest.raises(ValueError, match="n_components=9"):
        FastICA(n_components=9).fit(X)


def test_rank_deficient_input_is_clear():
    _, _, X = _problem()
    X_dup = np.column_stack([X, X[:, 0]])
    with pytest.raises(ValueError, match="linearly independent"):
        FastICA(random_state=0).fit(X_dup)
    # Asking for no more components than the rank works.
    assert FastICA(n_components=4, random_state=0).fit_transform(X_dup).shape == (4000, 4)


def test_transform_feature_count_checked():
    _, _, X = _problem()
    ica = FastICA(random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        ica.transform(X[:, :3])


def test_w_init_shape_checked():
    _, _, X = _problem()
    with pytest.raises(ValueError, match="w_init"):
        FastICA(w_init=np.eye(3)).fit(X)


def test_cuda_request_without_gpu_is_clear():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    _, _, X = _problem()
    with pytest.raises(ValueError, match="CUDA is not available"):
        FastICA(backend="torch", device="cuda").fit(X)


@pytest.mark.gpu
def test_gpu_agrees_with_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    S, _, X = _problem(n=20000)
    cpu = FastICA(random_state=0, backend="numpy").fit_transform(X)
    gpu_est = FastICA(random_state=0, backend="torch", device="cuda")
    gpu = gpu_est.fit_transform(X)
    assert gpu_est.device_.type == "cuda"
    np.testing.assert_allclose(cpu, gpu, atol=1e-6)


def test_constant_first_channel_with_fewer_components():
    # A constant first feature makes the first entry of eigenvectors zero; the sign fix
    # must not zero those eigenvectors (the sources would come out as zeros).
    S, A, X = _problem()
    X_const = np.column_stack([np.full(len(X), 3.0), X])
    S_est = FastICA(n_components=4, random_state=0).fit_transform(X_const)
    assert mean_corr_coef(S, S_est) > 0.99


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("whiten_solver", ["eigh", "svd"])
@pytest.mark.parametrize(
    "dtype, scale",
    [(np.float32, 1e30), (np.float32, 1e-30), (np.float64, 1e200), (np.float64, 1e-200)],
)
def test_extreme_scales_whiten_like_unit_scale(backend, whiten_solver, dtype, scale):
    # X @ X.T overflows or underflows in the dtype; the sources must not notice the scale.
    S, _, X = _problem(n=2000, k=3)
    kwargs = dict(backend=backend, device="cpu", whiten_solver=whiten_solver, random_state=0)
    ref = FastICA(**kwargs).fit(X.astype(dtype))
    X_big = (X * scale).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        est = FastICA(**kwargs).fit(X_big)
        S_est = est.transform(X_big)
        X_back = est.inverse_transform(S_est)
    assert S_est.dtype == dtype and np.all(np.isfinite(S_est))
    tol = 1e-3 if dtype == np.float32 else 1e-8
    np.testing.assert_allclose(S_est, ref.transform(X.astype(dtype)), atol=tol, rtol=tol)
    np.testing.assert_allclose(X_back / scale, X, atol=tol, rtol=tol)


def test_device_typo_refused_even_with_numpy_backend():
    _, _, X = _problem(n=500, k=2)
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda'"):
        FastICA(backend="numpy", device="tpu").fit(X)
    # A well-formed device is unused by the numpy backend, so it need not exist.
    assert FastICA(backend="numpy", device="cuda:7", random_state=0).fit(X).device_.type == "cpu"


@pytest.mark.parametrize("alpha", [float("nan"), float("inf"), 0.0, -1.0, "x", True])
def test_bad_alpha_refused_before_fitting(alpha):
    _, _, X = _problem(n=500, k=2)
    with pytest.raises(ValueError, match=r"fun_args\['alpha'\] must be a finite number > 0"):
        FastICA(fun_args={"alpha": alpha}).fit(X)


@pytest.mark.parametrize(
    "w_init, exc, match",
    [
        (np.full((4, 4), np.nan), ValueError, "w_init contains NaN or infinity"),
        (np.full((4, 4), "a"), TypeError, "w_init has dtype"),
        (np.ones(4), ValueError, "w_init must be a 2D array"),
    ],
)
def test_bad_w_init_named(w_init, exc, match):
    _, _, X = _problem(n=500)
    with pytest.raises(exc, match=match):
        FastICA(w_init=w_init).fit(X)


@pytest.mark.parametrize(
    "S, exc, match",
    [
        (np.full((5, 4), np.nan), ValueError, "X contains NaN or infinity"),
        (np.ones(4), ValueError, "X must be a 2D array"),
        (np.full((5, 4), "1.0"), TypeError, "X has dtype"),
        (np.ones((5, 3)), ValueError, r"inverse_transform needs shape \(n_samples, 4\)"),
    ],
)
def test_inverse_transform_input_checked(S, exc, match):
    _, _, X = _problem(n=500)
    ica = FastICA(random_state=0).fit(X)
    with pytest.raises(exc, match=match):
        ica.inverse_transform(S)


# ----------------------------------------------------------- wide input, sklearn parity
def test_channels_first_eeg_shape_warns_and_fits():
    # 32 channels x 30504 samples passed as MNE stores them: a 30504^2 covariance would
    # take 7 GB (and crashed the BLAS); the Gram matrix of the 32 rows is used instead.
    rng = np.random.default_rng(0)
    X = rng.laplace(size=(32, 30504))
    for backend in ("numpy", "torch"):
        with pytest.warns(
            UserWarning,
            match=r"more features \(30504\) than samples \(32\).*"
            r"pass X\.T",
        ) as record:
            S = FastICA(random_state=0, backend=backend, device="cpu").fit_transform(X)
        assert record[0].filename == __file__
        assert S.shape == (32, 31)  # the rank of 32 centred rows
        assert np.all(np.isfinite(S))


def test_wide_input_without_whitening_is_refused():
    X = np.random.default_rng(0).laplace(size=(10, 50))
    with pytest.raises(
        ValueError,
        match=r"more features \(50\) than samples \(10\).*"
        r"whiten=False.*pass X\.T",
    ):
        FastICA(whiten=False).fit(X)


def test_wide_input_matches_sklearn_svd():
    # Spatial ICA (more features than samples) is legitimate: with the Gram-matrix
    # whitening nlica gives scikit-learn's answer.
    rng = np.random.default_rng(1)
    X = rng.laplace(size=(500, 5)) @ rng.normal(size=(5, 1000)) + 0.01 * rng.normal(
        size=(500, 1000)
    )
    with pytest.warns(UserWarning, match="more features"):
        ours = FastICA(n_components=5, random_state=0).fit(X)
    ref = SkFastICA(n_components=5, random_state=0).fit(X)
    assert ours.n_iter_ < 200
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_transform_equals_transform_exactly(dtype):
    _, _, X = _problem(n=3000, seed=3, dtype=dtype)
    ica = FastICA(random_state=0)
    S = ica.fit_transform(X)
    assert S.dtype == dtype
    np.testing.assert_array_equal(S, ica.transform(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # whiten=False
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"whiten": "arbitrary-variance"},
        {"whiten": False},
        {"algorithm": "deflation"},
        {"n_components": 2},
    ],
)
def test_fastica_function_matches_sklearn(kwargs):
    from sklearn.decomposition import fastica as sk_fastica

    from nlica import fastica

    _, _, X = _problem(n=3000, seed=4, k=3)
    ours = fastica(
        X, random_state=0, whiten_solver="svd", return_X_mean=True, return_n_iter=True, **kwargs
    )
    ref = sk_fastica(
        X, random_state=0, whiten_solver="svd", return_X_mean=True, return_n_iter=True, **kwargs
    )
    assert len(ours) == len(ref) == 5
    for a, b in zip(ours[:4], ref[:4]):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, atol=1e-8)
    assert ours[4] == ref[4]
    K, W, S = fastica(X, random_state=0, compute_sources=False, **kwargs)[:3]
    assert S is None


def test_warnings_point_at_the_callers_line():
    _, _, X = _problem(n=500, k=3)
    with pytest.warns(ConvergenceWarning) as record:
        FastICA(max_iter=1, random_state=0).fit_transform(X)
    assert record[0].filename == __file__
