import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator

from nlica.base import resolve_device
from nlica.utils import stack_recordings
from nlica.utils.validation import (
    check_groups,
    check_n_components,
    group_runs,
    validate_X,
)


def test_validate_x_rejects_bad_kinds():
    est = BaseEstimator()
    with pytest.raises(TypeError, match="sparse"):
        validate_X(est, sp.csr_matrix(np.ones((3, 2))), reset=True)
    with pytest.raises(ValueError, match="Complex data not supported"):
        validate_X(est, np.ones((3, 2), dtype=complex), reset=True)
    with pytest.raises(TypeError, match="numeric"):
        validate_X(est, np.array([["a", "b"], ["c", "d"]]), reset=True)
    with pytest.raises(ValueError, match="NaN"):
        validate_X(est, np.array([[np.nan, 1.0], [1.0, 2.0]]), reset=True)
    with pytest.raises(ValueError, match="infinity"):
        validate_X(est, np.array([[np.inf, 1.0], [1.0, 2.0]]), reset=True)
    with pytest.raises(ValueError, match="minimum of 2"):
        validate_X(est, np.ones((1, 2)), reset=True)


def test_validate_x_keeps_float32_and_converts_int():
    est = BaseEstimator()
    assert validate_X(est, np.ones((3, 2), dtype=np.float32), reset=True).dtype == np.float32
    assert validate_X(est, np.ones((3, 2), dtype=int), reset=True).dtype == np.float64
    assert est.n_features_in_ == 2


def test_check_n_components():
    assert check_n_components(None, 3) == 3
    assert check_n_components(2, 3) == 2
    with pytest.raises(ValueError, match="n_components=4 is larger"):
        check_n_components(4, 3)


def test_check_groups_runs_and_errors():
    runs = check_groups(np.array([5, 5, 2, 2, 2, 5]), 6)
    assert runs.tolist() == [0, 0, 1, 1, 1, 2]
    starts, stops = group_runs(runs)
    assert starts.tolist() == [0, 2, 5] and stops.tolist() == [2, 5, 6]
    with pytest.raises(ValueError, match="groups has 3 entries but X has 4 samples"):
        check_groups([0, 0, 1], 4)
    with pytest.raises(ValueError, match="NaN"):
        check_groups([0.0, np.nan, 1.0], 3)
    with pytest.raises(ValueError, match="1-D"):
        check_groups(np.zeros((2, 2)), 2)
    with pytest.raises(ValueError, match="fewer than the 2"):
        check_groups([0, 0, 1, 2, 2], 5, min_run_length=2)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=40))
def test_runs_are_contiguous_and_match_label_changes(labels):
    runs = check_groups(labels, len(labels))
    assert runs[0] == 0
    assert np.all(np.diff(runs) >= 0) and np.all(np.diff(runs) <= 1)
    changes = np.flatnonzero(np.diff(labels)) + 1
    assert np.flatnonzero(np.diff(runs)).tolist() == (changes - 1).tolist()


def test_stack_recordings():
    X, groups = stack_recordings([np.zeros((3, 2)), np.ones((4, 2))])
    assert X.shape == (7, 2) and groups.tolist() == [0] * 3 + [1] * 4
    with pytest.raises(ValueError, match="same number of features"):
        stack_recordings([np.zeros((3, 2)), np.zeros((3, 3))])
    with pytest.raises(ValueError, match="empty"):
        stack_recordings([])
    with pytest.raises(TypeError, match="list"):
        stack_recordings(np.zeros((3, 2)))


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu")
    with pytest.raises(TypeError, match="device must be"):
        resolve_device(3)
