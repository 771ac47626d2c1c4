"""Bad-input and persistence battery over every estimator and public function.

Three tables drive the tests: ``ESTIMATOR_CASES`` (columns: FastICA with either backend,
TCL, PCL, SlowVAE, IVAE), ``FUNCTION_CASES`` (metrics, ``stack_recordings``, the mixings,
``nlica.load``) and ``DATASET_CASES`` (the generators of :mod:`nlica.datasets`). A row is
one bad or awkward input; a cell is what must happen:

``OK``
    the call works, every number in its output is finite, and the caller's arrays are
    unchanged (compared with a copy taken before the call);
``ValueError`` / ``TypeError`` / ``NotFittedError``
    the call raises it, with a message of at least ``MIN_MESSAGE`` characters that names
    the argument (``X``, ``groups``, ``n_components``, the checkpoint path, ...);
``NA``
    the case does not apply (the estimator has no such parameter or method).

Nothing else may come out: no other exception, no NaN or infinity, no numerical
RuntimeWarning on a call that works. ``python tests/test_bad_inputs.py`` prints what every
cell actually got as markdown tables.
"""

import copy
import dataclasses
import inspect
import io
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import nlica
from nlica import datasets, metrics
from nlica.utils import stack_recordings

from fast_instances import NAMES, NEURAL, fast

try:  # pandas is optional: the DataFrame rows are skipped without it
    import pandas as pd
except ImportError:  # pragma: no cover - depends on the environment
    pd = None

OK = "ok"
NA = "n/a"
VE, TE, NF = ValueError, TypeError, NotFittedError
# "A full sentence": shorter messages cannot say what was expected and what came.
MIN_MESSAGE = 40

ESTIMATORS = NAMES


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --------------------------------------------------------------------------------------
# data and estimators
# --------------------------------------------------------------------------------------
def base_X(n=200, k=3, seed=0):
    """Mixed Laplace sources: 200 samples, 3 features (10 TCL segments of 20)."""
    rng = np.random.default_rng(seed)
    return rng.laplace(size=(n, k)) @ rng.uniform(-1, 1, size=(k, k)) + 0.1 * np.eye(k)[0]


# The shared table: fits base_X in well under a second.
small = fast


def _flags(obj):
    if isinstance(obj, np.ndarray):
        return (obj.flags.writeable, obj.flags.c_contiguous, obj.flags.f_contiguous)
    if isinstance(obj, list | tuple):
        return [_flags(v) for v in obj]
    return None


def _same(a, b):
    """Whether ``a`` still holds the values of its earlier deep copy ``b``."""
    if sp.issparse(a):
        return a.shape == b.shape and (a != b).nnz == 0
    if pd is not None and isinstance(a, pd.DataFrame | pd.Series):
        return a.equals(b)
    if isinstance(a, np.ndarray):
        return (
            a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return bool(np.all(a == b))


def _unchanged(*args):
    """Deep copies and array flags of ``args``, checked again by :func:`_check_unchanged`."""
    return [(a, copy.deepcopy(a), _flags(a)) for a in args]


def _check_unchanged(snaps):
    for i, (a, before, flags) in enumerate(snaps):
        assert _same(a, before), f"argument {i} of the call was modified in place"
        assert _flags(a) == flags, f"the flags of argument {i} were changed"


def fit_transform_checked(est, X, **fit_params):
    """Fit, transform, and check that neither call touched ``X`` or the fit parameters."""
    snaps = _unchanged(X, *fit_params.values())
    est.fit(X, **fit_params)
    out = est.transform(X)
    _check_unchanged(snaps)
    n_rows = np.shape(X)[0]
    assert out.shape == (n_rows, est.n_components_), out.shape
    expected = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
    assert out.dtype == expected, f"transform returned {out.dtype}, expected {expected}"
    return out


# --------------------------------------------------------------------------------------
# outcome of one call
# --------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one call did: ``kind`` is ``"ok"`` or the exception's class name."""

    kind: str
    exc: BaseException | None = None
    output: object = None
    warnings: list = field(default_factory=list)

    def cell(self, width=60):
        """The markdown table cell: ``ok`` or ``Type: message`` cut to ``width``."""
        if self.exc is None:
            text = OK
            if self.warnings:
                text += f" ({self.warnings[0]})"
        else:
            text = f"{self.kind}: {self.exc}"
        text = " ".join(text.split()).replace("|", "\\|")
        return text if len(text) <= width else text[: width - 1] + "…"


def observe(call):
    """Run ``call()`` and record its result or exception and any numerical warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            output = call()
        except Exception as exc:  # noqa: BLE001 - recording every kind is the point
            outcome = Outcome(type(exc).__name__, exc)
        else:
            outcome = Outcome(OK, None, output)
    outcome.warnings = [
        f"{w.category.__name__}: {w.message}"
        for w in caught
        if issubclass(w.category, RuntimeWarning)
    ]
    return outcome


def _numbers(obj):
    """Every numeric array or scalar reachable in an output."""
    if isinstance(obj, metrics.IdentifiabilityReport):
        obj = obj.to_dict()
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "biufc":
            yield obj
    elif isinstance(obj, torch.Tensor):
        yield obj.detach().cpu().numpy()
    elif isinstance(obj, bool | int | float | np.number):
        yield np.asarray(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, datasets.BaseMixing):
        yield from _numbers(obj.weights)


def _word(name):
    return re.compile(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])")


def check_outcome(outcome, expected, names):
    """Assert that ``outcome`` is ``expected`` (``OK`` or an exception class)."""
    if expected == OK:
        if outcome.exc is not None:
            raise AssertionError(f"expected success, got {outcome.kind}") from outcome.exc
        for arr in _numbers(outcome.output):
            assert np.all(np.isfinite(arr)), "output holds NaN or infinity"
        assert not outcome.warnings, f"numerical warnings: {outcome.warnings}"
        return
    assert outcome.exc is not None, f"expected {expected.__name__}, but the call worked"
    exc = outcome.exc
    if expected is ValueError:
        ok = isinstance(exc, ValueError) and not isinstance(exc, NotFittedError)
    else:
        ok = isinstance(exc, expected)
    if not ok:
        raise AssertionError(f"expected {expected.__name__}, got {outcome.kind}") from exc
    message = str(exc)
    assert len(message) >= MIN_MESSAGE, f"message too short ({len(message)}): {message!r}"
    assert any(_word(n).search(message) for n in names), (
        f"message does not name any of {names}: {message!r}"
    )


# --------------------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One row: ``run(column)`` makes the call; ``expect`` maps a column to its outcome."""

    id: str
    run: object
    expect: dict
    names: object = None  # words one of which the message must hold; None: the column's
    xfail: dict = field(default_factory=dict)  # column -> reason (a known bug elsewhere)

    def expected(self, col):
        """The expected outcome of column ``col``."""
        return self.expect.get(col, NA)

    def names_for(self, col, default):
        """The words one of which an error message must contain."""
        if self.names is None:
            return default[col]
        if isinstance(self.names, dict):
            return self.names.get(col, default[col])
        return self.names


def expect(default, columns, **overrides):
    """Expected outcome per column: ``default``, then group keys, then column keys.

    Group keys: ``FastICA`` (both backends), ``neural`` (TCL, PCL, SlowVAE, IVAE),
    ``metrics`` (the three metric functions). Column keys use ``_`` for ``-`` and ``.``.
    """
    groups = {
        "FastICA": ("FastICA-numpy", "FastICA-torch"),
        "neural": NEURAL,
        "metrics": ("mean_corr_coef", "amari_distance", "identifiability_report"),
    }
    out = dict.fromkeys(columns, default)
    for key, value in overrides.items():
        if key in groups:
            for col in groups[key]:
                if col in out:
                    out[col] = value
    for key, value in overrides.items():
        if key not in groups:
            col = next(c for c in columns if c.replace("-", "_").replace(".", "_") == key)
            out[col] = value
    return out


# Bad data, applied to X (estimators) or to each function's array argument. Each maker
# takes a clean float64 array with >= 2 rows and 3 columns and returns the bad input.
def _poke(value):
    def make(X):
        X = X.copy()
        X.flat[4] = value
        return X

    return make


def _read_only(X):
    X = X.copy()
    X.setflags(write=False)
    return X


def _object_with_none(X):
    X = X.astype(object)
    X[1, 1] = None
    return X


def _bool(X):
    return X > np.median(X, axis=0)


def _const_channel(X):
    X = X.copy()
    X[:, 1] = 3.0
    return X


def _dup_channel(X):
    X = X.copy()
    X[:, 2] = X[:, 0]
    return X


def _dataframe(X):
    if pd is None:
        pytest.skip("pandas is not installed")
    return pd.DataFrame(X, columns=[f"ch{i}" for i in range(X.shape[1])])


DATA = {
    # row id: maker (the expected outcomes per column are in DATA_EXPECT)
    "NaN in X": _poke(np.nan),
    "+inf in X": _poke(np.inf),
    "-inf in X": _poke(-np.inf),
    "X 1-D": lambda X: X[:, 0].copy(),
    "X 3-D": lambda X: X[None].copy(),
    "X 0-D": lambda X: np.float64(X[0, 0]),
    "X 0 rows": lambda X: X[:0].copy(),
    "X 0 columns": lambda X: X[:, :0].copy(),
    "X 1 sample": lambda X: X[:1].copy(),
    "X complex": lambda X: X.astype(np.complex128),
    "X numeric strings": lambda X: X.astype(str),
    "X word strings": lambda X: np.full(X.shape, "abc"),
    "X object of floats": lambda X: X.astype(object),
    "X object with None": _object_with_none,
    "X bool": _bool,
    "X scipy sparse": sp.csr_matrix,
    "X pandas DataFrame": _dataframe,
    "X list of lists": lambda X: X.tolist(),
    "X read-only": _read_only,
    "X Fortran-ordered": np.asfortranarray,
    "X float32": lambda X: X.astype(np.float32),
    "X float64": lambda X: X.copy(),
    "X int64": lambda X: np.round(X * 10).astype(np.int64),
    "X int32": lambda X: np.round(X * 10).astype(np.int32),
    "X huge (1e30)": lambda X: X * 1e30,
    "X tiny (1e-30)": lambda X: X * 1e-30,
    "X huge float32 (1e30)": lambda X: (X * 1e30).astype(np.float32),
    "X tiny float32 (1e-30)": lambda X: (X * 1e-30).astype(np.float32),
    "X huge (1e200)": lambda X: X * 1e200,
    "X tiny (1e-200)": lambda X: X * 1e-200,
    "X constant channel": _const_channel,
    "X duplicated channel": _dup_channel,
}

FUNCTIONS = (
    "mean_corr_coef",
    "amari_distance",
    "identifiability_report",
    "stack_recordings",
    "mixing.transform",
    "mixing.inverse",
    "load",
)

# Which argument each column's data rows perturb (the name its messages must use).
_DATA_ARG = {
    **dict.fromkeys(ESTIMATORS, ("X",)),
    "mean_corr_coef": ("S_est",),
    "amari_distance": ("W",),
    "identifiability_report": ("S_est",),
    "stack_recordings": ("recordings[0]",),
    "mixing.transform": ("S",),
    "mixing.inverse": ("X",),
    "load": ("path",),
}


def _mixing():
    return datasets.make_linear_mixing(3, random_state=0, n_draws=100)


def _run_function_on(col, bad):
    """Call function column ``col`` with ``bad`` as its data argument."""
    S = base_X(seed=1)
    if col == "mean_corr_coef":
        snaps = _unchanged(bad)
        out = metrics.mean_corr_coef(S, bad)
        assert 0.0 <= out <= 1.0
    elif col == "identifiability_report":
        snaps = _unchanged(bad)
        out = metrics.identifiability_report(S, bad)
        assert 0.0 <= out.mcc <= 1.0
    elif col == "amari_distance":
        snaps = _unchanged(bad)
        out = metrics.amari_distance(bad, _mixing().A)
        assert 0.0 <= out <= 1.0
    elif col == "stack_recordings":
        recordings = [bad, bad]
        snaps = _unchanged(recordings)
        out = stack_recordings(recordings)
        assert out[0].shape[0] == out[1].shape[0]
    elif col == "mixing.transform":
        snaps = _unchanged(bad)
        out = _mixing().transform(bad)
    elif col == "mixing.inverse":
        snaps = _unchanged(bad)
        out = _mixing().inverse(bad)
    else:  # pragma: no cover - guarded by the table
        raise AssertionError(col)
    _check_unchanged(snaps)
    return out


def _data_input(col, make):
    """The bad input for column ``col``: a 3x3 unmixing matrix for Amari, else data."""
    if col == "amari_distance":
        return make(np.linalg.inv(_mixing().A) + 0.01)
    return make(base_X())


def _fit_bad(make):
    def run(col):
        bad = _data_input(col, make)
        if col in ESTIMATORS:
            return fit_transform_checked(small(col), bad)
        return _run_function_on(col, bad)

    return run


_ALL = ESTIMATORS + FUNCTIONS
_no_load = {"load": NA}

DATA_EXPECT = {
    "NaN in X": expect(VE, _ALL, **_no_load),
    "+inf in X": expect(VE, _ALL, **_no_load),
    "-inf in X": expect(VE, _ALL, **_no_load),
    "X 1-D": expect(
        VE, _ALL, mean_corr_coef=OK, identifiability_report=OK, stack_recordings=OK, **_no_load
    ),
    "X 3-D": expect(VE, _ALL, **_no_load),
    "X 0-D": expect(VE, _ALL, **_no_load),
    "X 0 rows": expect(VE, _ALL, mixing_transform=OK, mixing_inverse=OK, **_no_load),
    "X 0 columns": expect(VE, _ALL, **_no_load),
    "X 1 sample": expect(
        VE, _ALL, stack_recordings=OK, mixing_transform=OK, mixing_inverse=OK, **_no_load
    ),
    "X complex": expect(VE, _ALL, **_no_load),
    "X numeric strings": expect(TE, _ALL, **_no_load),
    "X word strings": expect(TE, _ALL, **_no_load),
    "X object of floats": expect(OK, _ALL, **_no_load),
    "X object with None": expect(VE, _ALL, **_no_load),
    "X bool": expect(OK, _ALL, **_no_load),
    "X scipy sparse": expect(TE, _ALL, **_no_load),
    "X pandas DataFrame": expect(OK, _ALL, **_no_load),
    "X list of lists": expect(OK, _ALL, **_no_load),
    "X read-only": expect(OK, _ALL, **_no_load),
    "X Fortran-ordered": expect(OK, _ALL, **_no_load),
    "X float32": expect(OK, _ALL, **_no_load),
    "X float64": expect(OK, _ALL, **_no_load),
    "X int64": expect(OK, _ALL, **_no_load),
    "X int32": expect(OK, _ALL, **_no_load),
    "X huge (1e30)": expect(OK, _ALL, **_no_load),
    "X tiny (1e-30)": expect(OK, _ALL, **_no_load),
    "X huge float32 (1e30)": expect(OK, _ALL, **_no_load),
    "X tiny float32 (1e-30)": expect(OK, _ALL, **_no_load),
    "X huge (1e200)": expect(OK, _ALL, **_no_load),
    "X tiny (1e-200)": expect(OK, _ALL, **_no_load),
    "X constant channel": expect(OK, _ALL, FastICA=VE, neural=VE, **_no_load),
    "X duplicated channel": expect(OK, _ALL, FastICA=VE, neural=VE, **_no_load),
}

# --------------------------------------------------------------------------------------
# estimator-only rows
# --------------------------------------------------------------------------------------
_HAS = {
    "inverse_transform": ("FastICA-numpy", "FastICA-torch", "SlowVAE"),
    "score": NEURAL,
    "groups": NEURAL,
}


def _only(cols, outcome):
    return {c: (outcome if c in cols else NA) for c in ESTIMATORS}


def _params_case(case_id, params, outcome=VE, *, overrides=None, xfail=None):
    """A row that sets ``params`` and fits ``base_X``; NA where a parameter does not exist."""

    def run(col):
        return fit_transform_checked(small(col, **params), base_X())

    exp = {}
    for col in ESTIMATORS:
        known = small(col).get_params()
        exp[col] = outcome if all(p in known for p in params) else NA
    exp.update(overrides or {})
    return Case(case_id, run, exp, names=tuple(params), xfail=xfail or {})


def _fitted(col):
    return small(col).fit(base_X())


def _call_fitted(method, make_arg, **kwargs):
    def run(col):
        est = _fitted(col)
        arg = make_arg(est)
        snaps = _unchanged(arg)
        out = getattr(est, method)(arg, **kwargs)
        _check_unchanged(snaps)
        return out

    return run


def _unfitted(method):
    def run(col):
        est = small(col)
        if method == "save":
            with tempfile.TemporaryDirectory() as tmp:
                return est.save(os.path.join(tmp, "m.pt"))
        return getattr(est, method)(base_X())

    return run


def _fit_with(**fit_params_makers):
    def run(col):
        X = base_X()
        fit_params = {k: make(X) for k, make in fit_params_makers.items()}
        return fit_transform_checked(small(col), X, **fit_params)

    return run


def _fit_rows(make, col, **params):
    return fit_transform_checked(small(col, **params), make(base_X()))


def _wide(n_rows, n_columns):
    def make(X):
        return np.random.default_rng(0).laplace(size=(n_rows, n_columns))

    return make


def _groups_short_last(X):
    g = np.zeros(X.shape[0], dtype=int)
    g[-1] = 1  # the last recording is one sample: no (t-1, t) pair fits in it
    return g


def _groups_halves(X):
    return np.repeat(["a", "b"], [X.shape[0] // 2, X.shape[0] - X.shape[0] // 2])


def _segments(X):
    return np.arange(X.shape[0]) // 20


# ----- persistence
def _roundtrip(col):
    X = base_X()
    est = _fitted(col)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.pt")
        est.save(path)
        loaded = nlica.load(path)
    np.testing.assert_allclose(loaded.transform(X), est.transform(X), rtol=1e-6, atol=1e-6)
    return loaded.transform(X)


def _tampered(edit):
    """Save a fitted estimator, apply ``edit`` to the raw checkpoint, load it back."""

    def run(col):
        est = _fitted(col)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.pt")
            est.save(path)
            ckpt = torch.load(path, weights_only=True)
            edit(ckpt)
            torch.save(ckpt, path)
            loaded = nlica.load(path)
            return loaded.transform(base_X())

    return run


def _set(*keys, value):
    def edit(ckpt):
        d = ckpt
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return edit


def _delete(*keys):
    def edit(ckpt):
        d = ckpt
        for k in keys[:-1]:
            d = d[k]
        del d[keys[-1]]

    return edit


def _bad_weights(ckpt):
    state = ckpt["estimator"]["fitted"]["module_"]["__module__"]
    name = next(iter(state))
    state[name] = torch.zeros(7, 7, 7)


def _save_to(path_of):
    def run(col):
        est = _fitted(col)
        with tempfile.TemporaryDirectory() as tmp:
            return est.save(path_of(tmp))

    return run


_E = ESTIMATORS
# The estimators that take segment labels in fit.
_SEGMENTED = ("TCL", "IVAE")
_PATH_NAMES = ("path", "checkpoint")

# Known failures: case id -> {column: reason}, marked xfail(strict=True).
_XFAIL = {}

ESTIMATOR_CASES = [
    Case(k, _fit_bad(m), {c: DATA_EXPECT[k][c] for c in _E}) for k, m in DATA.items()
]
ESTIMATOR_CASES += [
    Case(
        "X 5 samples (fewer than a batch)",
        lambda col: _fit_rows(lambda X: X[:5], col),
        expect(OK, _E, TCL=VE),
        names=("X", "segment_length"),
    ),
    Case("X 2 samples", lambda col: _fit_rows(lambda X: X[:2], col), expect(VE, _E)),
    # Channels-first (wide) arrays: a warning and a fit for FastICA (spatial ICA is
    # legitimate), an error for the time-series estimators; never an n_features^2 matrix.
    Case(
        "X wide 3 x 200 (X.T)",
        lambda col: _fit_rows(lambda X: X.T.copy(), col),
        expect(VE, _E, FastICA=OK),
    ),
    Case(
        "X wide 32 x 30504 (MNE's layout)",
        lambda col: _fit_rows(_wide(32, 30504), col),
        expect(VE, _E, FastICA=OK),
    ),
    Case(
        "X wide 64 x 100000",
        lambda col: _fit_rows(_wide(64, 100_000), col),
        expect(VE, _E, FastICA=OK),
    ),
    Case(
        "batch_size > n_samples",
        lambda col: (
            _fit_rows(lambda X: X[:20], col, segment_length=5)
            if col == "TCL"
            else _fit_rows(lambda X: X[:20], col, batch_size=32)
        ),
        _only(NEURAL, OK) | {"TCL": VE},
        names=("batch_size",),
    ),
    # transform after a good fit
    Case(
        "transform: other feature count",
        _call_fitted("transform", lambda e: base_X(k=4)),
        expect(VE, _E),
        names=("X", "features"),
    ),
    Case(
        "transform: NaN",
        _call_fitted("transform", lambda e: _poke(np.nan)(base_X())),
        expect(VE, _E),
    ),
    Case("transform: 1-D", _call_fitted("transform", lambda e: base_X()[:, 0]), expect(VE, _E)),
    Case("transform: 0 rows", _call_fitted("transform", lambda e: base_X()[:0]), expect(VE, _E)),
    Case(
        "transform: strings",
        _call_fitted("transform", lambda e: base_X().astype(str)),
        expect(TE, _E),
    ),
    Case(
        "transform: sparse",
        _call_fitted("transform", lambda e: sp.csr_matrix(base_X())),
        expect(TE, _E),
    ),
    Case(
        "inverse_transform: other width",
        _call_fitted("inverse_transform", lambda e: np.ones((5, e.n_components_ + 1))),
        _only(_HAS["inverse_transform"], VE),
        names=("X", "S"),
    ),
    Case(
        "inverse_transform: NaN",
        _call_fitted("inverse_transform", lambda e: _poke(np.nan)(e.transform(base_X()))),
        _only(_HAS["inverse_transform"], VE),
        names=("X", "S"),
    ),
    Case(
        "inverse_transform: 1-D",
        _call_fitted("inverse_transform", lambda e: e.transform(base_X())[:, 0]),
        _only(_HAS["inverse_transform"], VE),
        names=("X", "S"),
    ),
    Case(
        "inverse_transform: strings",
        _call_fitted("inverse_transform", lambda e: e.transform(base_X()).astype(str)),
        _only(_HAS["inverse_transform"], TE),
        names=("X", "S"),
    ),
    Case(
        "score: NaN",
        _call_fitted("score", lambda e: _poke(np.nan)(base_X())),
        _only(_HAS["score"], VE),
    ),
    Case(
        "score: other feature count",
        _call_fitted("score", lambda e: base_X(k=4)),
        _only(_HAS["score"], VE),
        names=("X", "features"),
    ),
    # not fitted
    Case("transform before fit", _unfitted("transform"), expect(NF, _E), names=("fitted", "fit")),
    Case(
        "inverse_transform before fit",
        _unfitted("inverse_transform"),
        _only(_HAS["inverse_transform"], NF),
        names=("fitted", "fit"),
    ),
    Case("score before fit", _unfitted("score"), _only(_HAS["score"], NF), names=("fitted", "fit")),
    Case("save before fit", _unfitted("save"), expect(NF, _E), names=("fitted", "fit")),
    # n_components
    _params_case("n_components > n_features", {"n_components": 5}, overrides={"SlowVAE": OK}),
    _params_case("n_components=0", {"n_components": 0}),
    _params_case("n_components=-1", {"n_components": -1}),
    _params_case("n_components=1.5", {"n_components": 1.5}),
    _params_case("n_components='2'", {"n_components": "2"}),
    _params_case("n_components=np.int64(2)", {"n_components": np.int64(2)}, OK),
    # groups
    Case(
        "groups wrong length",
        _fit_with(groups=lambda X: np.zeros(10)),
        _only(NEURAL, VE),
        names=("groups",),
    ),
    Case(
        "groups with NaN",
        _fit_with(groups=lambda X: _poke(np.nan)(np.zeros((len(X), 1)))[:, 0]),
        _only(NEURAL, VE),
        names=("groups",),
    ),
    Case(
        "groups 2-D",
        _fit_with(groups=lambda X: np.zeros((len(X), 2))),
        _only(NEURAL, VE),
        names=("groups",),
    ),
    Case(
        "groups 0-D", _fit_with(groups=lambda X: np.int64(0)), _only(NEURAL, VE), names=("groups",)
    ),
    Case(
        "groups sparse",
        _fit_with(groups=lambda X: sp.csr_matrix(np.zeros((1, len(X))))),
        _only(NEURAL, TE),
        names=("groups",),
    ),
    Case(
        "groups: last recording 1 sample",
        _fit_with(groups=_groups_short_last),
        _only(NEURAL, VE) | {"TCL": OK, "IVAE": OK},
        names=("groups",),
    ),
    Case("groups: two string-labelled halves", _fit_with(groups=_groups_halves), _only(NEURAL, OK)),
    # segments (TCL, IVAE)
    Case(
        "segments wrong length",
        _fit_with(segments=lambda X: np.zeros(10)),
        _only(_SEGMENTED, VE),
        names=("segments",),
    ),
    Case(
        "segments with NaN",
        _fit_with(segments=lambda X: _poke(np.nan)(_segments(X)[:, None] * 1.0)[:, 0]),
        _only(_SEGMENTED, VE),
        names=("segments",),
    ),
    Case(
        "segments 2-D",
        _fit_with(segments=lambda X: np.zeros((len(X), 2))),
        _only(_SEGMENTED, VE),
        names=("segments",),
    ),
    Case(
        "segments: one label",
        _fit_with(segments=lambda X: np.zeros(len(X))),
        _only(_SEGMENTED, VE),
        names=("segments",),
    ),
    Case("segments: 10 labels", _fit_with(segments=_segments), _only(_SEGMENTED, OK)),
    # aux (IVAE's continuous auxiliary variable)
    Case(
        "aux wrong length",
        _fit_with(aux=lambda X: np.zeros(10)),
        _only(("IVAE",), VE),
        names=("aux",),
    ),
    Case(
        "aux with NaN",
        _fit_with(aux=lambda X: _poke(np.nan)(X[:, :2].copy())),
        _only(("IVAE",), VE),
        names=("aux",),
    ),
    Case(
        "aux 3-D",
        _fit_with(aux=lambda X: X[None].copy()),
        _only(("IVAE",), VE),
        names=("aux",),
    ),
    Case(
        "aux and segments both",
        _fit_with(aux=lambda X: X[:, 0].copy(), segments=_segments),
        _only(("IVAE",), VE),
        names=("aux", "segments"),
    ),
    Case("aux: 2 columns", _fit_with(aux=lambda X: X[:, :2].copy()), _only(("IVAE",), OK)),
    _params_case("segment_length too long (< 2 segments)", {"segment_length": 1000}),
    _params_case("segment_length=0", {"segment_length": 0}),
    # hyper-parameters
    _params_case("max_iter=-1", {"max_iter": -1}),
    _params_case("max_iter=0", {"max_iter": 0}),
    _params_case("max_iter=2.5", {"max_iter": 2.5}),
    _params_case("tol=-1", {"tol": -1.0}),
    _params_case("tol=nan", {"tol": float("nan")}),
    _params_case("learning_rate=0", {"learning_rate": 0.0}),
    _params_case("learning_rate=nan", {"learning_rate": float("nan")}),
    _params_case("learning_rate=inf", {"learning_rate": float("inf")}),
    _params_case("learning_rate=-1", {"learning_rate": -1.0}),
    _params_case("learning_rate=1e12 (training diverges)", {"learning_rate": 1e12}),
    _params_case("batch_size=0", {"batch_size": 0}),
    _params_case("batch_size=1.5", {"batch_size": 1.5}),
    _params_case("n_layers=0", {"n_layers": 0}),
    _params_case("hidden_layer_sizes=(0,)", {"hidden_layer_sizes": (0,)}),
    _params_case("hidden_layer_sizes=('a',)", {"hidden_layer_sizes": ("a",)}),
    _params_case("hidden_layer_sizes=(-3,)", {"hidden_layer_sizes": (-3,)}),
    _params_case("n_init=0", {"n_init": 0}),
    _params_case("device='tpu'", {"device": "tpu"}),
    _params_case("device=3", {"device": 3}),
    _params_case(
        "device='cuda:99'", {"device": "cuda:99"}, overrides={"FastICA-numpy": OK}
    ),  # unused by the numpy backend
    _params_case(
        "device='cuda' without a GPU",
        {"device": "cuda"},
        OK if torch.cuda.is_available() else VE,
        overrides={"FastICA-numpy": OK},
    ),
    _params_case("preset='nope'", {"preset": "nope"}),
    _params_case("random_state='x'", {"random_state": "x"}),
    _params_case("random_state=-1", {"random_state": -1}),
    _params_case("verbose='loud'", {"verbose": "loud"}),
    _params_case("callbacks='x'", {"callbacks": "x"}),
    _params_case("algorithm='nope'", {"algorithm": "nope"}),
    _params_case("fun='nope'", {"fun": "nope"}),
    _params_case("fun_args={'alpha': nan}", {"fun_args": {"alpha": float("nan")}}),
    _params_case("fun_args={'alpha': 'x'}", {"fun_args": {"alpha": "x"}}),
    _params_case("w_init wrong shape", {"w_init": np.eye(2)}),
    _params_case("w_init with NaN", {"w_init": np.full((3, 3), np.nan)}),
    _params_case("whiten='nope'", {"whiten": "nope"}),
    _params_case("subsample=1", {"subsample": 1}),
    _params_case("backend='jax'", {"backend": "jax"}),
    _params_case("ica_max_iter=0", {"ica_max_iter": 0}),
    _params_case("lag=0", {"lag": 0}),
    _params_case("lag=500 (> n_samples)", {"lag": 500}),
    _params_case("beta=-1", {"beta": -1.0}),
    _params_case("gamma=nan", {"gamma": float("nan")}),
    _params_case("rate_prior=0", {"rate_prior": 0.0}),
    _params_case("kl_warmup=-1", {"kl_warmup": -1}),
    _params_case("image_shape=(1, 2, 2) (X has 3 features)", {"image_shape": (1, 2, 2)}),
    _params_case("likelihood='bernoulli' on data outside [0, 1]", {"likelihood": "bernoulli"}),
    # persistence
    Case("save -> load round trip", _roundtrip, expect(OK, _E)),
    Case(
        "save into a missing directory",
        _save_to(lambda tmp: os.path.join(tmp, "no", "such", "m.pt")),
        expect(VE, _E),
        names=_PATH_NAMES,
    ),
    Case("save onto a directory", _save_to(lambda tmp: tmp), expect(VE, _E), names=_PATH_NAMES),
    Case("save path=123", _save_to(lambda tmp: 123), expect(TE, _E), names=_PATH_NAMES),
    Case(
        "load: format_version=99",
        _tampered(_set("format_version", value=99)),
        expect(VE, _E),
        names=_PATH_NAMES,
    ),
    Case(
        "load: format_version='x'",
        _tampered(_set("format_version", value="x")),
        expect(VE, _E),
        names=_PATH_NAMES,
    ),
    Case(
        "load: no format_version",
        _tampered(_delete("format_version")),
        expect(VE, _E),
        names=_PATH_NAMES,
    ),
    Case(
        "load: unknown class",
        _tampered(_set("estimator", "class", value="Nope")),
        expect(VE, _E),
        names=_PATH_NAMES,
    ),
    Case(
        "load: no estimator entry",
        _tampered(_delete("estimator")),
        expect(VE, _E),
        names=_PATH_NAMES,
    ),
    Case(
        "load: estimator entry is a string",
        _tampered(_set("estimator", value="x")),
        expect(VE, _E),
        names=_PATH_NAMES,
    ),
    Case(
        "load: unknown parameter",
        _tampered(_set("estimator", "params", "nope", value=1)),
        expect(VE, _E),
        names=_PATH_NAMES,
    ),
    Case(
        "load: bad parameter value",
        _tampered(_set("estimator", "params", "random_state", value="x")),
        expect(VE, _E),
        names=_PATH_NAMES,
    ),
    Case(
        "load: no fitted attributes",
        _tampered(_set("estimator", "fitted", value={})),
        expect(VE, _E),
        names=_PATH_NAMES,
    ),
    Case(
        "load: versions is a string",
        _tampered(_set("versions", value="x")),
        expect(VE, _E),
        names=_PATH_NAMES,
    ),
    Case(
        "load: weights of the wrong shape",
        _tampered(_bad_weights),
        _only(NEURAL, VE),
        names=_PATH_NAMES,
    ),
]
ESTIMATOR_CASES = [
    dataclasses.replace(c, xfail=_XFAIL[c.id]) if c.id in _XFAIL else c for c in ESTIMATOR_CASES
]
assert set(_XFAIL) <= {c.id for c in ESTIMATOR_CASES}


# --------------------------------------------------------------------------------------
# function rows
# --------------------------------------------------------------------------------------
def _load_file(write):
    def run(col):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "file.pt")
            write(path)
            return nlica.load(path)

    return run


def _write_bytes(data):
    def write(path):
        with open(path, "wb") as f:
            f.write(data)

    return write


def _load_path(path):
    return lambda col: nlica.load(path)


def _metric_call(fn_S_true, fn_S_est, **kwargs):
    """Call the column's metric with two source arrays (Amari: W and A)."""

    def run(col):
        S_true, S_est = fn_S_true(), fn_S_est()
        snaps = _unchanged(S_true, S_est)
        out = getattr(metrics, col)(S_true, S_est, **kwargs)
        _check_unchanged(snaps)
        return out

    return run


def _S(n=200, k=3, seed=1):
    return lambda: base_X(n, k, seed)


_F = FUNCTIONS
_MCC_REPORT = ("mean_corr_coef", "identifiability_report")


def _fonly(cols, outcome):
    return {c: (outcome if c in cols else NA) for c in FUNCTIONS}


def _constant_columns():
    S = base_X(seed=1)
    S[:, 0] = 2.0
    return S


FUNCTION_CASES = [Case(k, _fit_bad(m), {c: DATA_EXPECT[k][c] for c in _F}) for k, m in DATA.items()]
FUNCTION_CASES += [
    Case(
        "lengths differ",
        _metric_call(_S(200), _S(150)),
        _fonly(_MCC_REPORT, VE),
        names=("S_true", "S_est"),
    ),
    Case(
        "NaN in S_true",
        _metric_call(lambda: _poke(np.nan)(base_X()), _S()),
        _fonly(_MCC_REPORT, VE),
        names=("S_true",),
    ),
    Case(
        "constant columns in both",
        _metric_call(_constant_columns, _constant_columns),
        _fonly(_MCC_REPORT, OK),
    ),
    Case(
        "both 1-D",
        _metric_call(lambda: base_X()[:, 0], lambda: base_X(seed=1)[:, 0]),
        _fonly(_MCC_REPORT, OK),
    ),
    Case(
        "method='nope'",
        _metric_call(_S(), _S(), method="nope"),
        _fonly(_MCC_REPORT, VE),
        names=("method",),
    ),
    Case(
        "method=None",
        _metric_call(_S(), _S(), method=None),
        _fonly(_MCC_REPORT, VE),
        names=("method",),
    ),
    Case(
        "amari: W @ A not square",
        lambda col: metrics.amari_distance(np.ones((2, 3)), np.eye(3)),
        _fonly(("amari_distance",), VE),
        names=("W", "A"),
    ),
    Case(
        "amari: W @ A has a zero row",
        lambda col: metrics.amari_distance(np.diag([1.0, 0.0, 1.0]), np.eye(3)),
        _fonly(("amari_distance",), VE),
        names=("W", "A"),
    ),
    Case(
        "amari: 1 x 1",
        lambda col: metrics.amari_distance([[2.0]], [[3.0]]),
        _fonly(("amari_distance",), OK),
    ),
    Case(
        "amari: A with NaN",
        lambda col: metrics.amari_distance(np.eye(3), np.full((3, 3), np.nan)),
        _fonly(("amari_distance",), VE),
        names=("A",),
    ),
    Case(
        "stack: recordings of different widths",
        lambda col: stack_recordings([base_X(k=3), base_X(k=2)]),
        _fonly(("stack_recordings",), VE),
        names=("recordings",),
    ),
    Case(
        "stack: empty list",
        lambda col: stack_recordings([]),
        _fonly(("stack_recordings",), VE),
        names=("recordings",),
    ),
    Case(
        "stack: one ndarray",
        lambda col: stack_recordings(base_X()),
        _fonly(("stack_recordings",), TE),
        names=("recordings",),
    ),
    Case(
        "stack: a generator",
        lambda col: stack_recordings(r for r in [base_X()]),
        _fonly(("stack_recordings",), TE),
        names=("recordings",),
    ),
    Case(
        "stack: None",
        lambda col: stack_recordings(None),
        _fonly(("stack_recordings",), TE),
        names=("recordings",),
    ),
    Case(
        "stack: list with None",
        lambda col: stack_recordings([base_X(), None]),
        _fonly(("stack_recordings",), VE),
        names=("recordings[1]",),
    ),
    Case(
        "stack: one recording of 1 sample",
        lambda col: stack_recordings([base_X()[:1]]),
        _fonly(("stack_recordings",), OK),
    ),
    Case(
        "mixing: wrong width",
        lambda col: getattr(_mixing(), col.split(".")[1])(np.ones((5, 2))),
        _fonly(("mixing.transform", "mixing.inverse"), VE),
        names=("S", "X"),
    ),
    Case("load: a text file", _load_file(_write_bytes(b"hello, world\n")), _fonly(("load",), VE)),
    Case(
        "load: random bytes",
        _load_file(_write_bytes(np.random.default_rng(0).bytes(1000))),
        _fonly(("load",), VE),
    ),
    Case("load: an empty file", _load_file(_write_bytes(b"")), _fonly(("load",), VE)),
    Case(
        "load: torch.save of a plain dict",
        _load_file(lambda p: torch.save({"weights": torch.zeros(2)}, p)),
        _fonly(("load",), VE),
    ),
    Case(
        "load: torch.save of a tensor",
        _load_file(lambda p: torch.save(torch.zeros(2), p)),
        _fonly(("load",), VE),
    ),
    Case(
        "load: a pickle of a fitted FastICA",
        _load_file(lambda p: torch.save(nlica.FastICA(random_state=0).fit(base_X()), p)),
        _fonly(("load",), VE),
    ),
    Case("load: a missing file", _load_path("/nonexistent/dir/model.pt"), _fonly(("load",), VE)),
    Case("load: a directory", lambda col: nlica.load(tempfile.gettempdir()), _fonly(("load",), VE)),
    Case("load: path=None", _load_path(None), _fonly(("load",), TE)),
    Case("load: path=123", _load_path(123), _fonly(("load",), TE)),
    Case("load: an empty file object", _load_path(io.BytesIO()), _fonly(("load",), VE)),
]


# --------------------------------------------------------------------------------------
# datasets
# --------------------------------------------------------------------------------------
DATASET_CALLS = {
    "make_tcl_dataset": dict(n_sources=2, n_layers=1, n_segments=4, segment_length=16),
    "make_pcl_dataset": dict(n_sources=2, n_layers=1, n_samples=64),
    "make_slowvae_dataset": dict(n_sources=2, n_layers=1, n_samples=64),
    "make_nonstationary_sources": dict(n_sources=2, n_segments=4, segment_length=16),
    "make_ar_sources": dict(n_sources=2, n_samples=64),
    "make_laplace_transition_sources": dict(n_sources=2, n_samples=64),
    "make_iid_sources": dict(n_sources=2, n_samples=64),
    "make_linear_mixing": dict(n_features=2, n_draws=100),
    "make_mlp_mixing": dict(n_features=2, n_layers=2, n_draws=100),
}
GENERATORS = tuple(DATASET_CALLS)


def _dataset_case(case_id, params, outcome=VE):
    def run(col):
        kwargs = {**DATASET_CALLS[col], "random_state": 0, **params}
        return getattr(datasets, col)(**kwargs)

    exp = {}
    for col in GENERATORS:
        known = inspect.signature(getattr(datasets, col)).parameters
        exp[col] = outcome if all(p in known for p in params) else NA
    return Case(case_id, run, exp, names=tuple(params) or ("n_sources",))


DATASET_CASES = [
    _dataset_case("small valid call", {}, OK),
    _dataset_case("n_sources=0", {"n_sources": 0}),
    _dataset_case("n_sources=-1", {"n_sources": -1}),
    _dataset_case("n_sources=1.5", {"n_sources": 1.5}),
    _dataset_case("n_sources='3'", {"n_sources": "3"}),
    _dataset_case("n_sources=True", {"n_sources": True}),
    _dataset_case("n_sources=np.int64(2)", {"n_sources": np.int64(2)}, OK),
    _dataset_case("n_samples=0", {"n_samples": 0}),
    _dataset_case("n_samples=1", {"n_samples": 1}),
    _dataset_case("n_samples=nan", {"n_samples": float("nan")}),
    _dataset_case("n_features=0", {"n_features": 0}),
    _dataset_case("n_layers=0", {"n_layers": 0}),
    _dataset_case("n_segments=0", {"n_segments": 0}),
    _dataset_case("segment_length=1", {"segment_length": 1}),
    _dataset_case("rho=nan", {"rho": float("nan")}),
    _dataset_case("rho=1 (not stationary)", {"rho": 1.0}),
    _dataset_case("rate=0", {"rate": 0.0}),
    _dataset_case("rate=-1", {"rate": -1.0}),
    _dataset_case("n_groups=0", {"n_groups": 0}),
    _dataset_case("distribution='nope'", {"distribution": "nope"}),
    _dataset_case("n_draws=0", {"n_draws": 0}),
    _dataset_case("cond_percentile=0", {"cond_percentile": 0.0}),
    _dataset_case("slope=0", {"slope": 0.0}),
    _dataset_case("random_state='x'", {"random_state": "x"}),
    _dataset_case("random_state=-1", {"random_state": -1}),
    _dataset_case("random_state=1.5", {"random_state": 1.5}),
]

TABLES = (
    ("Estimators", ESTIMATORS, ESTIMATOR_CASES, _DATA_ARG),
    ("Functions", FUNCTIONS, FUNCTION_CASES, _DATA_ARG),
    ("Datasets", GENERATORS, DATASET_CASES, dict.fromkeys(GENERATORS, ("n_sources",))),
)


def _params():
    out = []
    for title, columns, cases, names in TABLES:
        for case in cases:
            for col in columns:
                expected = case.expected(col)
                if expected == NA:
                    continue
                marks = ()
                if col in case.xfail:
                    marks = pytest.mark.xfail(strict=True, reason=case.xfail[col])
                label = expected if expected == OK else expected.__name__
                out.append(
                    pytest.param(
                        case, col, names, marks=marks, id=f"{title}|{case.id}|{col}|{label}"
                    )
                )
    return out


@pytest.mark.parametrize("case, col, names", _params())
def test_battery(case, col, names):
    outcome = observe(lambda: case.run(col))
    check_outcome(outcome, case.expected(col), case.names_for(col, names))


def test_tables_are_well_formed():
    # Every row has a distinct id and at least one applicable column.
    for _, columns, cases, _names in TABLES:
        ids = [c.id for c in cases]
        assert len(ids) == len(set(ids))
        for case in cases:
            assert any(case.expected(col) != NA for col in columns), case.id


# --------------------------------------------------------------------------------------
# property tests
# --------------------------------------------------------------------------------------
_DTYPES = (np.float64, np.float32, np.int64, np.int32, np.bool_, np.complex128, object)
_DTYPE_P = (0.45, 0.15, 0.1, 0.05, 0.05, 0.1, 0.1)


@st.composite
def random_X(draw, max_rows=60, max_cols=4, square=False):
    """Arrays of random dimension, shape, dtype, scale and structure, NaN now and then.

    Hypothesis draws a seed and the choices are made from it with set odds: its own
    element strategies shrink towards tiny all-zero arrays, which never reach a fit, while
    here about half of the arrays are valid data.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ndim = int(rng.choice([2, 0, 1, 3], p=[0.85, 0.05, 0.05, 0.05]))
    if square:
        rows = cols = int(rng.integers(1, max_cols + 1))
    else:
        low = min(20, max_rows)
        rows = int(rng.integers(low, max_rows + 1) if rng.random() < 0.8 else rng.integers(0, 4))
        cols = int(rng.integers(1, max_cols + 1) if rng.random() < 0.9 else 0)
    shape = {0: (), 1: (rows,), 2: (rows, cols), 3: (rows, cols, 2)}[ndim]
    values = rng.laplace(size=shape) * 10.0 ** rng.integers(-30, 31)
    structure = rng.choice(["none", "constant", "duplicate", "rounded"], p=[0.7, 0.1, 0.1, 0.1])
    if ndim == 2 and cols >= 2 and structure == "constant":
        values[:, 1] = 3.0
    elif ndim == 2 and cols >= 2 and structure == "duplicate":
        values[:, 1] = values[:, 0]
    elif structure == "rounded":
        values = np.round(values)
    if values.size and rng.random() < 0.2:
        values.flat[rng.integers(values.size)] = rng.choice([np.nan, np.inf, -np.inf])
    dtype = _DTYPES[rng.choice(len(_DTYPES), p=_DTYPE_P)]
    if np.dtype(dtype).kind in "iub" and not np.all(np.isfinite(values)):
        dtype = np.float64  # NaN has no integer form
    if np.dtype(dtype).kind in "iu":
        values = np.clip(values, -1e9, 1e9)  # keep the cast defined
    return values.astype(dtype)


def _expect_error(X):
    """The error class a bad ``X`` must raise, or None where the data may be fine."""
    X_arr = np.asarray(X)
    if X_arr.dtype.kind == "c":
        return ValueError
    if X_arr.ndim != 2 or X_arr.shape[0] < 2 or X_arr.shape[1] == 0:
        return ValueError
    if X_arr.dtype.kind in "fO" and not np.all(np.isfinite(X_arr.astype(np.float64))):
        return ValueError
    return None


# Besides X, a fit on random data may fairly refuse it for these (too few segments,
# rank-deficient channels, ...).
_DATA_WORDS = ("X", "segment_length", "lag", "batch_size", "n_components")


@pytest.mark.parametrize("col", ESTIMATORS)
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(X=random_X())
def test_property_fit_validates_any_X(col, X):
    outcome = observe(lambda: fit_transform_checked(small(col), X))
    must = _expect_error(X)
    if must is not None:
        check_outcome(outcome, must, ("X",))
    elif outcome.exc is None:
        check_outcome(outcome, OK, ())
    else:
        check_outcome(outcome, ValueError, _DATA_WORDS)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(S_est=random_X(max_rows=30), method=st.sampled_from(["pearson", "spearman"]))
def test_property_metrics_validate_any_S_est(S_est, method):
    n = np.shape(S_est)[0] if np.ndim(S_est) else 0
    S_true = base_X(max(n, 2), 2)
    for fn in (metrics.mean_corr_coef, metrics.identifiability_report):
        outcome = observe(lambda fn=fn: fn(S_true, S_est, method=method))
        if outcome.exc is None:
            check_outcome(outcome, OK, ())
            mcc = outcome.output if isinstance(outcome.output, float) else outcome.output.mcc
            assert 0.0 <= mcc <= 1.0
        else:
            assert isinstance(outcome.exc, ValueError | TypeError), outcome.kind
            check_outcome(outcome, type(outcome.exc), ("S_est", "S_true"))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(W=random_X(max_rows=5, max_cols=5, square=True))
def test_property_amari_validates_any_W(W):
    A = np.eye(np.shape(W)[1]) if np.ndim(W) == 2 and np.shape(W)[1] else np.eye(1)
    outcome = observe(lambda: metrics.amari_distance(W, A))
    if outcome.exc is None:
        check_outcome(outcome, OK, ())
        assert 0.0 <= outcome.output <= 1.0
    else:
        assert isinstance(outcome.exc, ValueError | TypeError), outcome.kind
        check_outcome(outcome, type(outcome.exc), ("W", "A"))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(exponent=st.integers(-150, 150), method=st.sampled_from(["pearson", "spearman"]))
def test_property_mcc_and_report_scale_free_over_300_decades(exponent, method):
    # test_metrics checks scales in [0.01, 100]; here the scale spans the float64 range.
    S = base_X(300, 3, seed=2)
    S_est = S @ np.array([[1.0, 0.3, 0.0], [0.0, 1.0, 0.2], [0.1, 0.0, 1.0]])
    ref = metrics.mean_corr_coef(S, S_est, method=method)
    scaled = S_est * 10.0**exponent
    assert metrics.mean_corr_coef(S, scaled, method=method) == pytest.approx(ref, abs=1e-9)
    report = metrics.identifiability_report(S * 10.0**-exponent, scaled, method=method)
    for arr in _numbers(report):
        assert np.all(np.isfinite(arr))
    assert report.mcc == pytest.approx(ref, abs=1e-9)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(recordings=st.lists(random_X(max_rows=6, max_cols=3), min_size=1, max_size=3))
def test_property_stack_recordings(recordings):
    outcome = observe(lambda: stack_recordings(recordings))
    if outcome.exc is not None:
        assert isinstance(outcome.exc, ValueError | TypeError), outcome.kind
        check_outcome(
            outcome,
            type(outcome.exc),
            ("recordings",) + tuple(f"recordings[{k}]" for k in range(len(recordings))),
        )
        return
    X, groups = outcome.output
    check_outcome(outcome, OK, ())
    assert X.ndim == 2 and groups.shape == (X.shape[0],)
    assert np.all(np.diff(groups) >= 0) and groups[-1] == len(recordings) - 1
    assert np.bincount(groups).tolist() == [
        np.atleast_2d(np.asarray(r, dtype=np.float64).reshape(len(r), -1)).shape[0]
        for r in recordings
    ]


# --------------------------------------------------------------------------------------
# the markdown table
# --------------------------------------------------------------------------------------
def _markdown(title, columns, cases, names):
    lines = [
        f"## {title}",
        "",
        "| input | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    n_bad = 0
    for case in cases:
        cells = []
        for col in columns:
            expected = case.expected(col)
            if expected == NA:
                cells.append("–")
                continue
            try:
                outcome = observe(lambda case=case, col=col: case.run(col))
            except BaseException as exc:  # a skip (pandas missing) ends up here
                cells.append(f"skipped ({type(exc).__name__})")
                continue
            try:
                check_outcome(outcome, expected, case.names_for(col, names))
                flag = ""
            except AssertionError as exc:
                flag = f"**FAIL** ({str(exc)[:50]}) " if col not in case.xfail else "xfail "
                n_bad += col not in case.xfail
            cells.append(flag + outcome.cell())
        lines.append(f"| {case.id} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n", n_bad


def main():
    """Print every table; exit status 1 if any cell differs from its expectation."""
    torch.set_num_threads(1)
    out = [
        "# nlica bad-input battery",
        "",
        "Cell: `ok` (worked, finite output, caller's arrays unchanged) or the exception "
        "and its message (cut to 60 characters). **FAIL** marks a cell that differs "
        "from the expectation in tests/test_bad_inputs.py; `xfail` a known failure "
        "outside this file's scope; – not applicable.",
        "",
        f"nlica {nlica.__version__}, numpy {np.__version__}, torch {torch.__version__}, "
        f"scikit-learn {sklearn.__version__}, pandas "
        f"{pd.__version__ if pd is not None else 'not installed (DataFrame rows skipped)'}.",
        "",
    ]
    total = 0
    for table in TABLES:
        text, n_bad = _markdown(*table)
        out.append(text)
        total += n_bad
    out.append(f"Cells that differ from the expectation: {total}.")
    print("\n".join(out))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())


# --------------------------------------------------------------------------------------
# plotting (needs matplotlib)
# --------------------------------------------------------------------------------------
def _plot(name, *args, **kwargs):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from nlica import plotting

    try:
        return getattr(plotting, name)(*args, **kwargs)
    finally:
        plt.close("all")


_S3 = base_X(100, 3, seed=3)


@pytest.mark.parametrize(
    "name, args, kwargs, expected, names",
    [
        ("plot_sources", (_S3[:, 0], _S3[:, 1]), {}, OK, ()),
        ("plot_sources", (_S3, _S3[:50]), {}, VE, ("S_true", "S_est")),
        ("plot_sources", (_S3, _S3.astype(str)), {}, TE, ("S_est",)),
        ("plot_correlation_matrix", (_S3, _constant_columns()[:100]), {}, OK, ()),
        ("plot_correlation_matrix", (_S3, _poke(np.nan)(_S3)), {}, VE, ("S_est",)),
        ("plot_correlation_matrix", (_S3, _S3), {"method": "nope"}, VE, ("method",)),
        ("plot_components", (np.eye(3), ["a", "b", "c"]), {"components": [5]}, VE, ("components",)),
        ("plot_components", (np.full((3, 3), np.nan), ["a", "b", "c"]), {}, VE, ("mixing",)),
        ("plot_components", (np.eye(3), ["a", "b"]), {}, VE, ("mixing",)),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_plotting_bad_inputs(name, args, kwargs, expected, names):
    check_outcome(observe(lambda: _plot(name, *args, **kwargs)), expected, names)
