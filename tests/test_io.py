import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

import nlica
from nlica import FastICA


def _X():
    rng = np.random.default_rng(0)
    return rng.laplace(size=(800, 3)) @ rng.uniform(-1, 1, size=(3, 3))


def test_fastica_round_trip_weights_only(tmp_path):
    X = _X()
    ica = FastICA(random_state=0).fit(X)
    path = tmp_path / "ica.pt"
    ica.save(path)
    # The file is a plain weights-only checkpoint.
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "nlica-checkpoint"
    loaded = nlica.load(path)
    assert isinstance(loaded, FastICA)
    assert loaded.get_params() == ica.get_params()
    np.testing.assert_array_equal(loaded.transform(X), ica.transform(X))
    np.testing.assert_array_equal(loaded.mixing_, ica.mixing_)


def test_feature_names_survive(tmp_path):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(_X(), columns=["a", "b", "c"])
    ica = FastICA(random_state=0).fit(X)
    ica.save(tmp_path / "m.pt")
    loaded = nlica.load(tmp_path / "m.pt")
    assert list(loaded.feature_names_in_) == ["a", "b", "c"]


def test_not_fitted_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        FastICA().save(tmp_path / "x.pt")


def test_non_checkpoint_files_rejected(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="not an nlica checkpoint"):
        nlica.load(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="not an nlica checkpoint"):
        nlica.load(other)


def test_version_mismatch_warns(tmp_path):
    ica = FastICA(random_state=0).fit(_X())
    path = tmp_path / "m.pt"
    ica.save(path)
    ckpt = torch.load(path, weights_only=True)
    ckpt["versions"]["nlica"] = "0.0.1"
    torch.save(ckpt, path)
    with pytest.warns(UserWarning, match="other library versions"):
        nlica.load(path)


def test_pickle_still_works():
    import pickle

    ica = FastICA(random_state=0).fit(_X())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = pickle.loads(pickle.dumps(ica))
    np.testing.assert_array_equal(again.components_, ica.components_)


def test_missing_file_is_file_not_found_and_value_error(tmp_path):
    missing = tmp_path / "nope.pt"
    for exc in (FileNotFoundError, ValueError):
        with pytest.raises(exc, match="cannot load path=.*nope.pt.*no such file"):
            nlica.load(missing)


@pytest.mark.parametrize("path", [None, 123, 4.5])
def test_path_of_wrong_type_is_type_error(path, tmp_path):
    with pytest.raises(TypeError, match="path must be a file name"):
        nlica.load(path)
    ica = FastICA(random_state=0).fit(_X())
    with pytest.raises(TypeError, match="path must be a file name"):
        ica.save(path)


def test_save_to_missing_directory_or_directory(tmp_path):
    ica = FastICA(random_state=0).fit(_X())
    with pytest.raises(ValueError, match="directory .* does not exist"):
        ica.save(tmp_path / "a" / "b.pt")
    with pytest.raises(OSError, match="it is a directory"):
        ica.save(tmp_path)
    with pytest.raises(ValueError, match="it is a directory"):
        nlica.load(tmp_path)


def test_save_refuses_other_estimators(tmp_path):
    from sklearn.decomposition import PCA

    with pytest.raises(TypeError, match="estimator must be a fitted nlica estimator"):
        nlica.io.save(PCA().fit(_X()), tmp_path / "pca.pt")


def test_file_objects_round_trip():
    import io

    X = _X()
    ica = FastICA(random_state=0).fit(X)
    buffer = io.BytesIO()
    ica.save(buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(nlica.load(buffer).transform(X), ica.transform(X))
    with pytest.raises(ValueError, match="path .* is not an nlica checkpoint"):
        nlica.load(io.BytesIO())


def _tamper(tmp_path, edit):
    ica = FastICA(random_state=0).fit(_X())
    path = tmp_path / "m.pt"
    ica.save(path)
    ckpt = torch.load(path, weights_only=True)
    edit(ckpt)
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda c: c.update(format_version="1"), "format_version is '1'"),
        (lambda c: c.pop("format_version"), "format_version is None"),
        (lambda c: c.update(format_version=2), "newer nlica"),
        (lambda c: c.update(versions="x"), "versions entry should be a dict"),
        (lambda c: c.pop("estimator"), "no estimator entry"),
        (lambda c: c.update(estimator=[1, 2]), "estimator entry should be a dict"),
        (lambda c: c["estimator"].update({"class": "Nope"}), "class 'Nope'"),
        (lambda c: c["estimator"]["params"].update(bogus=1), r"no parameter\(s\) \['bogus'\]"),
        (lambda c: c["estimator"]["params"].update(whiten="nope"), "'whiten' parameter"),
        (lambda c: c["estimator"].update(fitted={}), "no fitted attributes"),
    ],
)
def test_tampered_checkpoints_are_value_errors(tmp_path, edit, match):
    path = _tamper(tmp_path, edit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the version check may warn first
        with pytest.raises(ValueError, match=match) as info:
            nlica.load(path)
    assert f"path={str(path)!r}" in str(info.value)


def test_tampered_weights_are_value_errors(tmp_path):
    X = _X()
    tcl = nlica.TCL(n_layers=2, max_iter=5, segment_length=100, device="cpu", random_state=0).fit(X)
    path = tmp_path / "tcl.pt"
    tcl.save(path)
    ckpt = torch.load(path, weights_only=True)
    state = ckpt["estimator"]["fitted"]["module_"]["__module__"]
    state[next(iter(state))] = torch.zeros(7, 7, 7)
    torch.save(ckpt, path)
    with pytest.raises(ValueError, match="the weights in module_ do not fit a TCL"):
        nlica.load(path)
