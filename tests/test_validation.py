import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator

from nlica._device import resolve_device, usable_device
from nlica.utils import stack_recordings
from nlica.utils.validation import (
    check_array_2d,
    check_finite,
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


@pytest.mark.parametrize(
    "X, match",
    [
        (np.ones(4), r"X must be a 2D array .* got a 1-D array of shape \(4,\)\. Reshape"),
        (np.ones((2, 3, 4)), r"X must be a 2D array .* got a 3-dim array of shape \(2, 3, 4\)"),
        (np.float64(1.0), r"X must be a 2D array .* got a scalar"),
        (np.ones((0, 3)), r"X is not a valid data array: Found array with 0 sample\(s\)"),
        (np.ones((1, 3)), r"X is not a valid data array: Found array with 1 sample\(s\)"),
        (np.ones((4, 0)), r"X is not a valid data array: Found array with 0 feature\(s\)"),
        ([[1.0, 2.0], [3.0]], r"X could not be read as an array"),
    ],
)
def test_validate_x_errors_name_the_argument(X, match):
    with pytest.raises(ValueError, match=match):
        validate_X(BaseEstimator(), X, reset=True)


def test_validate_x_lists_of_strings_are_type_errors():
    with pytest.raises(TypeError, match="X has dtype <U"):
        validate_X(BaseEstimator(), [["1.0", "2.0"], ["3.0", "4.0"]], reset=True)


def test_check_array_2d_names_argument_and_first_bad_entry():
    with pytest.raises(ValueError, match=r"rec contains NaN or infinity: 2 .* row 1, column 0"):
        check_array_2d([[1.0, 2.0], [np.nan, np.inf]], name="rec")
    with pytest.raises(ValueError, match=r"rec must be a 2D array .* 1-D"):
        check_array_2d([1.0, 2.0], name="rec", allow_1d=False)
    with pytest.raises(ValueError, match=r"rec must be a 1D or 2D array; got a 3-dim"):
        check_array_2d(np.ones((2, 2, 2)), name="rec")
    assert (
        check_array_2d(
            np.ones(3, dtype=np.float32), name="rec", dtype=[np.float64, np.float32]
        ).dtype
        == np.float32
    )


def test_check_finite_passes_finite_arrays():
    check_finite(np.ones((3, 2)), "S")
    with pytest.raises(ValueError, match=r"S contains NaN or infinity: 1 .*\(infinity\) at index"):
        check_finite(np.array([1.0, -np.inf]), "S")


def test_stack_recordings_messages_say_what_came():
    with pytest.raises(TypeError, match="got ndarray. For one recording pass"):
        stack_recordings(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="got generator"):
        stack_recordings(r for r in [np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"recordings\[0\] has 2, recordings\[1\] has 3"):
        stack_recordings([np.zeros((3, 2)), np.zeros((3, 3))])
    with pytest.raises(ValueError, match=r"recordings\[1\] contains NaN"):
        stack_recordings([np.zeros((3, 2)), np.full((3, 2), np.nan)])


def test_resolve_device_spelling_only():
    # check_available=False accepts a CUDA device on any machine but still refuses typos.
    assert resolve_device("cuda:3", check_available=False).type == "cuda"
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu", check_available=False)
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("meta")


def test_usable_device_maps_missing_gpus(monkeypatch):
    assert usable_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert usable_device("cuda:3") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert usable_device("cuda:3") == torch.device("cuda")
    assert usable_device("cuda:1") == torch.device("cuda:1")


def test_nan_message_is_nlicas_not_histgradientboosting():
    X = np.ones((5, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or infinity.*row 3, column 1") as info:
        validate_X(BaseEstimator(), X, reset=True)
    assert "HistGradientBoosting" not in str(info.value)


def test_check_time_in_rows():
    from nlica.utils.validation import check_time_in_rows

    check_time_in_rows(np.ones((4, 4)), "TCL")  # square is not wide
    with pytest.raises(
        ValueError,
        match=r"X has shape \(3, 5\).*PCL reads rows as time "
        r"points.*pass X\.T",
    ):
        check_time_in_rows(np.ones((3, 5)), "PCL")
