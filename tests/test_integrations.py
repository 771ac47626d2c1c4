import numpy as np
import pytest
from scipy.signal import lfilter

mne = pytest.importorskip("mne")

from nlica import IVAE, TCL, FastICA, SlowVAE  # noqa: E402
from nlica.datasets import load_eeglab_sample  # noqa: E402
from nlica.integrations.mne import (  # noqa: E402
    find_bads_ecg,
    find_bads_eog,
    fit_raw,
    load_eeglab_sample_raw,
    remove_components,
    to_mne_ica,
    transform_raw,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _raw():
    """Three mixed EEG channels and an EOG channel that is not part of the mixture."""
    rng = np.random.default_rng(0)
    S = rng.laplace(size=(3, 4000))
    A = rng.uniform(-1, 1, size=(3, 3))
    info = mne.create_info(["Fz", "Cz", "Pz", "EOG1"], 200.0, ["eeg", "eeg", "eeg", "eog"])
    data = np.vstack([A @ S, rng.normal(size=(1, 4000))])
    return mne.io.RawArray(data, info, verbose=False), S


class _Spy(FastICA):
    """FastICA that keeps what fit_raw passed to fit (rows and groups)."""

    def fit(self, X, y=None, groups=None):
        self.X_seen_, self.groups_seen_ = np.array(X), groups
        return super().fit(X)


def _blink_raw(n_channels=12, n_times=6000, sfreq=100.0, seed=0, scale=1e-5, ar=0.5):
    """Mixed smooth sources, the first a train of blinks copied on an EOG channel."""
    rng = np.random.default_rng(seed)
    S = lfilter([1], [1, -ar], rng.laplace(size=(n_channels, n_times)), axis=1)
    S /= S.std(axis=1, keepdims=True)
    S[0] = np.convolve(rng.random(n_times) > 0.995, np.hanning(40), "same") * 3
    A = rng.uniform(-1, 1, (n_channels, n_channels))
    names = [f"E{i}" for i in range(n_channels)] + ["EOG"]
    info = mne.create_info(names, sfreq, ["eeg"] * n_channels + ["eog"])
    return mne.io.RawArray(np.vstack([A @ S, S[:1]]) * scale, info, verbose=False), S, A


# ---------------------------------------------------------------- round trips (Raw)
def test_fit_transform_raw_round_trip():
    raw, S = _raw()
    ica = fit_raw(FastICA(random_state=0), raw)
    assert ica.picks_ == ["Fz", "Cz", "Pz"]
    sources = transform_raw(ica, raw)
    assert sources.ch_names == ["ICA000", "ICA001", "ICA002"]
    C = np.abs(np.corrcoef(S, sources.get_data())[:3, 3:])
    assert np.all(C.max(axis=1) > 0.99)


def test_remove_component_removes_only_it():
    raw, S = _raw()
    ica = fit_raw(FastICA(random_state=0), raw)
    sources = transform_raw(ica, raw).get_data()
    cleaned = remove_components(ica, raw, [0])
    after = ica.transform(cleaned.get_data(picks=ica.picks_).T).T
    assert np.abs(after[0]).max() < 1e-8
    np.testing.assert_allclose(after[1:], sources[1:], atol=1e-8)
    # The channel outside the picks is untouched, and so is the caller's recording.
    np.testing.assert_array_equal(cleaned.get_data(picks="EOG1"), raw.get_data(picks="EOG1"))
    np.testing.assert_allclose(transform_raw(ica, raw).get_data(), sources)
    # exclude is kept on the estimator and reused when not given.
    assert ica.exclude_ == [0]
    np.testing.assert_allclose(remove_components(ica, raw).get_data(), cleaned.get_data())


def test_not_a_raw():
    with pytest.raises(TypeError, match="mne.io.Raw or mne.Epochs"):
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


# ---------------------------------------------------------------- picks and scaling
@pytest.mark.parametrize(
    "picks, expected",
    [
        (None, ["Fz", "Cz", "Pz"]),
        ("eeg", ["Fz", "Cz", "Pz"]),
        ("data", ["Fz", "Cz", "Pz"]),
        (["eeg", "eog"], ["Fz", "Cz", "Pz", "EOG1"]),
        (["Cz", "Fz", "EOG1"], ["Cz", "Fz", "EOG1"]),  # names: in the order given, as MNE
        ([0, 2, 3], ["Fz", "Pz", "EOG1"]),
    ],
)
def test_picks_read_as_mne_reads_them(picks, expected):
    raw, _ = _raw()
    assert fit_raw(FastICA(random_state=0), raw, picks=picks).picks_ == expected


def test_default_picks_leave_out_eog_ecg_stim_misc_and_bads():
    rng = np.random.default_rng(1)
    types = ["eeg", "eeg", "eeg", "eeg", "eog", "ecg", "stim", "misc"]
    names = ["Fz", "Cz", "Pz", "Oz", "EOG", "ECG", "STI", "MISC"]
    raw = mne.io.RawArray(
        rng.laplace(size=(8, 2000)), mne.create_info(names, 100.0, types), verbose=False
    )
    raw.info["bads"] = ["Oz"]
    assert fit_raw(FastICA(random_state=0), raw).picks_ == ["Fz", "Cz", "Pz"]


@pytest.mark.parametrize("ch_type", ["seeg", "ecog"])
def test_seeg_and_ecog_only_recordings_fit(ch_type):
    rng = np.random.default_rng(2)
    info = mne.create_info(["a", "b", "c"], 100.0, ch_type)
    raw = mne.io.RawArray(rng.laplace(size=(3, 2000)) * 1e-4, info, verbose=False)
    est = fit_raw(FastICA(random_state=0), raw)
    assert est.picks_ == ["a", "b", "c"]
    assert transform_raw(est, raw).get_data().shape == (3, 2000)


def test_picks_selecting_nothing_is_a_clear_error():
    raw, _ = _raw()
    with pytest.raises(ValueError, match="picks"):
        fit_raw(FastICA(), raw, picks="meg")
    with pytest.raises(ValueError, match="picks"):
        fit_raw(FastICA(), raw, picks=["nope"])


def test_mixed_channel_types_are_scaled_per_type():
    rng = np.random.default_rng(3)
    S = rng.laplace(size=(4, 5000))
    X = rng.uniform(-1, 1, (4, 4)) @ S
    # Two EEG channels in volts (1e-5) and two magnetometers in tesla (1e-13).
    data = X * np.array([[1e-5], [1e-5], [1e-13], [1e-13]])
    info = mne.create_info(["E1", "E2", "M1", "M2"], 100.0, ["eeg", "eeg", "mag", "mag"])
    raw = mne.io.RawArray(data, info, verbose=False)
    est = fit_raw(FastICA(random_state=0), raw)
    for cols in ([0, 1], [2, 3]):
        scaled = data[cols] * est.ch_scales_[cols][:, None]
        assert np.std(scaled - scaled.mean(axis=1, keepdims=True)) == pytest.approx(1.0)
    C = np.abs(np.corrcoef(S, transform_raw(est, raw).get_data())[:4, 4:])
    assert np.all(C.max(axis=1) > 0.99)
    # Removing a component and the MNE twin both undo the scaling.
    cleaned = remove_components(est, raw, [0]).get_data()
    ica = to_mne_ica(est, raw)
    np.testing.assert_allclose(
        ica.get_sources(raw).get_data(), transform_raw(est, raw).get_data(), atol=1e-9
    )
    np.testing.assert_allclose(
        ica.apply(raw.copy(), exclude=[0], verbose=False).get_data(), cleaned, rtol=1e-7, atol=1e-20
    )
    # A single type keeps the recording's units.
    assert np.all(fit_raw(FastICA(random_state=0), raw, picks="eeg").ch_scales_ == 1.0)


# ---------------------------------------------------------------- epochs, annotations
def _epochs():
    raw, S = _raw()
    events = np.column_stack([np.arange(100, 3800, 400), np.zeros(10, int), np.tile([1, 2], 5)])
    epochs = mne.Epochs(
        raw,
        events,
        {"a": 1, "b": 2},
        tmin=0.0,
        tmax=0.995,
        baseline=None,
        preload=True,
        verbose=False,
    )
    return epochs


def test_epochs_become_groups():
    epochs = _epochs()
    spy = fit_raw(_Spy(random_state=0), epochs)
    n_epochs, _, n_times = epochs.get_data().shape
    assert spy.X_seen_.shape == (n_epochs * n_times, 3)
    np.testing.assert_array_equal(spy.groups_seen_, np.repeat(np.arange(n_epochs), n_times))
    np.testing.assert_array_equal(
        spy.X_seen_[n_times : 2 * n_times], epochs.get_data(picks="eeg")[1].T
    )


def test_epochs_sources_remove_and_segments_per_epoch():
    epochs = _epochs()
    est = fit_raw(FastICA(random_state=0), epochs)
    sources = transform_raw(est, epochs)
    assert isinstance(sources, mne.BaseEpochs)
    np.testing.assert_array_equal(sources.events, epochs.events)
    assert sources.event_id == epochs.event_id
    np.testing.assert_allclose(
        sources.get_data()[2].T, est.transform(epochs.get_data(picks="eeg")[2].T)
    )
    cleaned = remove_components(est, epochs, [1])
    assert np.abs(est.transform(cleaned.get_data(picks="eeg")[0].T)[:, 1]).max() < 1e-8
    ica = to_mne_ica(est, epochs)
    np.testing.assert_allclose(ica.get_sources(epochs).get_data(), sources.get_data(), atol=1e-9)
    # One segment label per epoch (TCL, IVAE) is spread over the epoch's samples.
    tcl = fit_raw(
        TCL(max_iter=2, batch_size=32, random_state=0, device="cpu", ica_max_iter=20),
        epochs,
        segments=epochs.events[:, 2],
    )
    assert tcl.n_segments_ == 2
    ivae = fit_raw(
        IVAE(max_iter=2, batch_size=32, random_state=0, device="cpu"),
        epochs,
        segments=epochs.events[:, 2],
    )
    assert ivae.n_segments_ == 2
    assert transform_raw(ivae, epochs).get_data().shape[1] == ivae.n_components_


def test_bad_annotations_are_left_out_and_split_groups():
    raw, _ = _raw()
    raw.set_annotations(mne.Annotations([5.0], [2.0], ["BAD_movement"]))
    spy = fit_raw(_Spy(random_state=0), raw)
    n_bad = 2 * 200
    assert spy.X_seen_.shape[0] == raw.n_times - n_bad
    groups = spy.groups_seen_
    assert np.unique(groups).tolist() == [0, 1]
    assert np.sum(groups == 0) == 1000  # the 5 s before the bad span
    spy_all = fit_raw(_Spy(random_state=0), raw, reject_by_annotation=False)
    assert spy_all.X_seen_.shape[0] == raw.n_times and spy_all.groups_seen_ is None
    with pytest.raises(ValueError, match="groups"):
        fit_raw(_Spy(), raw, groups=np.zeros(raw.n_times))


def test_sources_keep_annotations_and_meas_date():
    raw, _ = _raw()
    raw.set_meas_date(1_700_000_000)
    raw.set_annotations(
        mne.Annotations(
            [1.0, 3.0], [0.5, 0.0], ["BAD_blink", "stim"], orig_time=raw.info["meas_date"]
        )
    )
    sources = transform_raw(fit_raw(FastICA(random_state=0), raw), raw)
    assert sources.info["meas_date"] == raw.info["meas_date"]
    assert list(sources.annotations.description) == ["BAD_blink", "stim"]
    np.testing.assert_allclose(sources.annotations.onset, raw.annotations.onset)
    assert sources.n_times == raw.n_times  # bad spans are transformed too


# ---------------------------------------------------------------- artifacts
def test_find_bads_eog_and_ecg_find_the_planted_component():
    raw, S, _ = _blink_raw()
    est = fit_raw(FastICA(random_state=0), raw)
    bads, scores = find_bads_eog(est, raw)
    S_est = transform_raw(est, raw).get_data()
    truth = int(np.argmax(np.abs(np.corrcoef(S[0], S_est)[0, 1:])))
    assert bads == [truth] and abs(scores[truth]) > 0.9
    # The same component, scored as an ECG channel.
    raw_ecg = raw.copy().set_channel_types({"EOG": "ecg"}, verbose=False)
    assert find_bads_ecg(est, raw_ecg, l_freq=1.0, h_freq=10.0)[0] == [truth]
    with pytest.raises(ValueError, match="ECG"):
        find_bads_ecg(est, raw)
    with pytest.raises(ValueError, match="threshold"):
        find_bads_eog(est, raw, threshold=-1)


def test_find_bads_eog_with_a_nonlinear_estimator():
    raw, S, A = _blink_raw(n_channels=6, n_times=4000, ar=0.9)
    X = raw.get_data()
    X[:6] = np.tanh(X[:6] / 1e-5) * 1e-5 + 0.5 * X[:6]  # a nonlinear mixture
    raw = mne.io.RawArray(X, raw.info, verbose=False)
    est = fit_raw(SlowVAE(max_iter=300, random_state=0, device="cpu"), raw)
    sources = transform_raw(est, raw)
    assert sources.ch_names[0] == "ICA000"
    bads, scores = find_bads_eog(est, raw, measure="correlation", threshold=0.8)
    assert bads == [int(np.argmax(np.abs(scores)))]
    assert abs(scores[bads[0]]) > 0.8


# ---------------------------------------------------------------- MNE's own ICA
def test_to_mne_ica_matches_transform_and_apply(tmp_path):
    raw, S, _ = _blink_raw()
    est = fit_raw(FastICA(n_components=8, random_state=0), raw)
    ica = to_mne_ica(est, raw)
    assert isinstance(ica, mne.preprocessing.ICA)
    np.testing.assert_allclose(
        ica.get_sources(raw).get_data(), transform_raw(est, raw).get_data(), atol=1e-9
    )
    # MNE finds the blink through nlica's decomposition, and apply equals nlica's removal
    # (the 4 dimensions beyond n_components are kept by both).
    bads, _ = ica.find_bads_eog(raw, verbose=False)
    assert bads == find_bads_eog(est, raw)[0]
    np.testing.assert_allclose(
        ica.apply(raw.copy(), exclude=bads, verbose=False).get_data(),
        remove_components(est, raw, bads).get_data(),
        atol=1e-18,
    )
    ica.exclude = bads
    ica.save(tmp_path / "nlica-ica.fif", verbose=False)
    back = mne.preprocessing.read_ica(tmp_path / "nlica-ica.fif", verbose=False)
    assert list(back.exclude) == bads
    np.testing.assert_allclose(
        back.get_sources(raw).get_data(), ica.get_sources(raw).get_data(), atol=1e-9
    )
    # exclude set by remove_components goes to MNE.
    assert to_mne_ica(est, raw).exclude == bads
    with pytest.raises(TypeError, match="linear estimator"):
        to_mne_ica(fit_raw(SlowVAE(max_iter=2, random_state=0, device="cpu"), raw), raw)


def test_blink_on_the_shipped_recording_found_and_removed():
    """The whole MNE workflow on the EEGLAB recording: FastICA -> MNE ICA -> blink."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    raw = load_eeglab_sample_raw().filter(1.0, None, verbose=False)
    est = fit_raw(FastICA(n_components=20, random_state=0, max_iter=500), raw)
    ica = to_mne_ica(est, raw)
    bads, scores = ica.find_bads_eog(raw, ch_name="FPz", verbose=False)
    assert len(bads) == 1 and abs(scores[bads[0]]) > 0.8
    assert [int(b) for b in bads] == find_bads_eog(est, raw, ch_name="FPz")[0]
    # Topographic map: the blink weight is largest at the front of the head.
    fig = ica.plot_components(picks=bads, show=False)
    assert len(fig.axes) >= 1
    weights = ica.get_components()[:, bads[0]]
    names = ica.ch_names
    assert names[int(np.argmax(np.abs(weights)))] in {"FPz", "F3", "Fz", "F4", "EOG1"}
    ica.plot_properties(raw, picks=bads, show=False, verbose=False)
    clean = ica.apply(raw.copy(), exclude=bads, verbose=False)
    before = raw.get_data(picks="FPz").var()
    after = clean.get_data(picks="FPz").var()
    assert after < 0.5 * before


# ---------------------------------------------------------------- montage
def test_eeglab_sample_montage_matches_mne_reader():
    eeg = load_eeglab_sample()
    from importlib.resources import files

    path = files("nlica") / "data" / "eeglab_sample" / "eeglab_chan32.locs"
    reference = mne.channels.read_custom_montage(str(path)).get_positions()["ch_pos"]
    assert set(eeg.ch_pos) == set(reference) == set(eeg.ch_names)
    for name, pos in reference.items():
        np.testing.assert_allclose(eeg.ch_pos[name], pos, atol=1e-9)
    assert isinstance(eeg.montage, mne.channels.DigMontage)
    raw = load_eeglab_sample_raw()
    positions = raw.get_montage().get_positions()["ch_pos"]
    np.testing.assert_allclose(positions["FPz"], reference["FPz"], atol=1e-9)
    assert raw.get_channel_types(picks=["EOG1", "EOG2"]) == ["eog", "eog"]
