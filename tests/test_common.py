"""Contract tests every estimator must pass: scikit-learn's estimator checks, bad input,
dtypes, copies, seeds, persistence."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

import nlica
from nlica.base import BaseICA

from fast_instances import NAMES, NEURAL, checked_instances, fast


@parametrize_with_checks(checked_instances())
def test_sklearn_compatible(estimator, check):
    check(estimator)


# scikit-learn's checks at default parameters. TCL's, PCL's and IVAE's defaults train for
# thousands of steps per fit, and the checks fit dozens of times: minutes per estimator
# on a CPU, so those run with the slow tests (make test-slow). SlowVAE's default step
# budget follows the data size (200 steps on the checks' toy data): it runs in CI.
@pytest.mark.parametrize(
    "cls",
    [
        nlica.FastICA,
        nlica.SlowVAE,
        *(
            pytest.param(getattr(nlica, name), marks=pytest.mark.slow)
            for name in NEURAL
            if name != "SlowVAE"
        ),
    ],
    ids=lambda cls: cls.__name__,
)
def test_sklearn_checks_at_default_parameters(cls):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarnings on the checks' tiny data
        check_estimator(cls())


# Every public estimator class is in the table above (a new one must be added there).
def test_every_estimator_is_checked():
    classes = {type(est) for est in checked_instances()}
    public = {
        obj
        for obj in map(lambda name: getattr(nlica, name), nlica.__all__)
        if isinstance(obj, type) and issubclass(obj, BaseICA)
    }
    assert public == classes


# Every estimator, from the shared table of fast instances.
_small = fast


def _X(n=400, k=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (rng.laplace(size=(n, k)) @ rng.uniform(-1, 1, size=(k, k))).astype(dtype)


BAD_X = [
    (
        "nan",
        lambda X: np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X),
        ValueError,
        "NaN",
    ),
    (
        "inf",
        lambda X: np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X),
        ValueError,
        "infinity",
    ),
    ("1d", lambda X: X[:, 0], ValueError, "2D"),
    ("3d", lambda X: X[None], ValueError, "dim"),
    ("empty", lambda X: X[:0], ValueError, "sample"),
    ("complex", lambda X: X.astype(complex), ValueError, "Complex"),
    ("strings", lambda X: X.astype(str), TypeError, "numeric"),
    ("sparse", lambda X: sp.csr_matrix(X), TypeError, "sparse"),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case, make, exc, match", BAD_X, ids=[c[0] for c in BAD_X])
def test_bad_x_is_refused_clearly(name, case, make, exc, match):
    with pytest.raises(exc, match=match) as info:
        _small(name).fit(make(_X()))
    assert len(str(info.value)) > 20


# A VAE may have more latents than observed features; the others may not.
@pytest.mark.parametrize("name", [n for n in NAMES if n != "SlowVAE"])
def test_n_components_too_large(name):
    est = _small(name).set_params(n_components=7)
    with pytest.raises(ValueError, match="n_components=7"):
        est.fit(_X())


@pytest.mark.parametrize("name", NAMES)
def test_transform_before_fit_and_wrong_width(name):
    with pytest.raises(NotFittedError):
        _small(name).transform(_X())
    est = _small(name).fit(_X())
    with pytest.raises(ValueError, match="features"):
        est.transform(_X(k=4))


@pytest.mark.parametrize("name", NAMES)
def test_groups_wrong_length(name):
    if name not in NEURAL:
        pytest.skip("FastICA has no groups")
    with pytest.raises(ValueError, match="groups has 10 entries but X has 400 samples"):
        _small(name).fit(_X(), groups=np.zeros(10))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_finite_dtype_and_input_untouched(name, dtype):
    X = _X(dtype=dtype)
    X.setflags(write=False)  # a read-only array must work and stay as it is
    X_before = X.copy()
    est = _small(name).fit(X)
    out = est.transform(np.asfortranarray(X))
    assert out.dtype == dtype
    assert out.shape == (X.shape[0], est.n_components_)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(X, X_before)


@pytest.mark.parametrize("name", NAMES)
def test_int_input_works(name):
    X = np.round(_X() * 10).astype(np.int64)
    out = _small(name).fit(X).transform(X)
    assert out.dtype == np.float64 and np.all(np.isfinite(out))


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_result_and_global_rng_untouched(name):
    X = _X()
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    a = _small(name).fit(X).transform(X)
    b = _small(name).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002


@pytest.mark.parametrize("name", NAMES)
def test_clone_pickle_and_checkpoint(name, tmp_path):
    X = _X()
    est = _small(name).fit(X)
    expected = est.transform(X)
    assert clone(est).get_params() == est.get_params()
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.transform(X), expected, rtol=1e-6, atol=1e-6)
    path = tmp_path / "model.pt"
    est.save(path)
    loaded = nlica.load(path)
    assert type(loaded) is type(est)
    np.testing.assert_allclose(loaded.transform(X), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", NEURAL)
def test_divergence_raises_not_nan(name):
    X = _X()
    est = _small(name).set_params(learning_rate=1e12, max_iter=50)
    try:
        est.fit(X)
    except nlica.TrainingDivergedError as exc:
        assert "learning_rate" in str(exc)
        return
    # If the optimiser survives such a step size, the output must still be finite.
    assert np.all(np.isfinite(est.transform(X)))
