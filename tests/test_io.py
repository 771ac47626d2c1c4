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
