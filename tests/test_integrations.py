import numpy as np
import pytest

mne = pytest.importorskip("mne")

from nlica import FastICA  # noqa: E402
from nlica.integrations.mne import fit_raw, remove_components, transform_raw  # noqa: E402


def _raw():
    rng = np.random.default_rng(0)
    S = rng.laplace(size=(3, 4000))
    A = rng.uniform(-1, 1, size=(3, 3))
    info = mne.create_info(["Fz", "Cz", "EOG1"], 200.0, ["eeg", "eeg", "eog"])
    return mne.io.RawArray(A @ S, info, verbose=False), S


def test_fit_transform_raw_round_trip():
    raw, S = _raw()
    ica = fit_raw(FastICA(random_state=0), raw)
    assert ica.picks_ == ["Fz", "Cz", "EOG1"]
    sources = transform_raw(ica, raw)
    assert sources.ch_names == ["ICA000", "ICA001", "ICA002"]
    C = np.abs(np.corrcoef(S, sources.get_data())[:3, 3:])
    assert np.all(C.max(axis=1) > 0.99)


def test_remove_component_removes_only_it():
    raw, S = _raw()
    ica = fit_raw(FastICA(random_state=0), raw)
    sources = transform_raw(ica, raw).get_data()
    cleaned = remove_components(ica, raw, [0])
    after = ica.transform(cleaned.get_data().T).T
    assert np.abs(after[0]).max() < 1e-8
    np.testing.assert_allclose(after[1:], sources[1:], atol=1e-8)
    # The caller's recording is untouched.
    np.testing.assert_allclose(transform_raw(ica, raw).get_data(), sources)


def test_not_a_raw():
    with pytest.raises(TypeError, match="mne.io.Raw"):
        fit_raw(FastICA(), np.zeros((3, 10)))


def test_bad_estimator_unfitted_and_bad_exclude_are_clear():
    from sklearn.exceptions import NotFittedError

    raw, _ = _raw()
    with pytest.raises(TypeError, match="estimator must be an nlica estimator"):
        fit_raw("FastICA", raw)
    with pytest.raises(NotFittedError, match="fit_raw"):
        transform_raw(FastICA(), raw)
    ica = fit_raw(FastICA(random_state=0), raw)
    for bad in ([3], [-1], ["Fz"], [0.5]):
        with pytest.raises(ValueError, match="exclude must list component indices"):
            remove_components(ica, raw, bad)
    np.testing.assert_allclose(remove_components(ica, raw, []).get_data(), raw.get_data())
