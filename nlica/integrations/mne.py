"""Fit and apply nlica estimators on an :class:`mne.io.Raw` recording (extra ``eeg``).

MNE stores data channels-first, ``(n_channels, n_times)``; nlica wants time in rows. The
transposition happens here and nowhere else.
"""

__all__ = ["fit_raw", "transform_raw", "remove_components"]


def _mne():
    try:
        import mne
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("nlica.integrations.mne needs mne: pip install 'nlica[eeg]'.") from exc
    return mne


def _data(raw, picks):
    mne = _mne()
    if not isinstance(raw, mne.io.BaseRaw):
        raise TypeError(f"raw must be an mne.io.Raw; got {type(raw).__name__}.")
    picked = mne.pick_types(raw.info, eeg=True, eog=True, meg=True, misc=False,
                            exclude="bads") if picks is None else picks
    names = [raw.ch_names[i] for i in picked] if not isinstance(picked[0], str) else list(picked)
    return raw.get_data(picks=names).T, names


def fit_raw(estimator, raw, *, picks=None, **fit_params):
    """Fit ``estimator`` on the channels of ``raw`` (time samples as rows).

    Parameters
    ----------
    estimator : nlica estimator
        An unfitted estimator (e.g. :class:`~nlica.FastICA`).
    raw : mne.io.Raw
        The recording, preloaded.
    picks : list of str or int, default=None
        Channels to use; ``None`` takes the EEG, EOG and MEG channels not marked bad.
    **fit_params
        Passed to ``estimator.fit`` (e.g. ``groups=``).

    Returns
    -------
    estimator : nlica estimator
        The fitted estimator, with ``picks_`` (channel names used) set.

    Examples
    --------
    >>> import mne, numpy as np
    >>> from nlica import FastICA
    >>> info = mne.create_info(["a", "b"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.random.default_rng(0).laplace(size=(2, 500)), info,
    ...                       verbose=False)
    >>> fit_raw(FastICA(random_state=0), raw).picks_
    ['a', 'b']
    """
    X, names = _data(raw, picks)
    estimator.fit(X, **fit_params)
    estimator.picks_ = names
    return estimator


def transform_raw(estimator, raw):
    """Return the estimated sources of ``raw`` as a Raw with channels ``ICA000``, ...

    Parameters
    ----------
    estimator : nlica estimator
        Fitted with :func:`fit_raw`.
    raw : mne.io.Raw
        Recording with the channels the estimator was fitted on.

    Returns
    -------
    sources : mne.io.RawArray
        One ``misc`` channel per component, same sampling rate and start time.

    Examples
    --------
    >>> import mne, numpy as np
    >>> from nlica import FastICA
    >>> info = mne.create_info(["a", "b"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.random.default_rng(0).laplace(size=(2, 500)), info,
    ...                       verbose=False)
    >>> transform_raw(fit_raw(FastICA(random_state=0), raw), raw).ch_names
    ['ICA000', 'ICA001']
    """
    mne = _mne()
    X, _ = _data(raw, estimator.picks_)
    S = estimator.transform(X)
    names = [f"ICA{i:03d}" for i in range(S.shape[1])]
    info = mne.create_info(names, raw.info["sfreq"], "misc")
    return mne.io.RawArray(S.T, info, first_samp=raw.first_samp, verbose=False)


def remove_components(estimator, raw, exclude):
    """Return a copy of ``raw`` with the ``exclude`` components projected out.

    Needs an estimator with ``inverse_transform`` (FastICA, SlowVAE). The part of the data
    outside the estimator's components (when ``n_components`` < channels) is kept.

    Parameters
    ----------
    estimator : nlica estimator
        Fitted with :func:`fit_raw`.
    raw : mne.io.Raw
        The recording.
    exclude : list of int
        Components to remove (e.g. the blink component).

    Returns
    -------
    cleaned : mne.io.Raw
        A copy of ``raw`` with the picked channels cleaned.

    Examples
    --------
    >>> import mne, numpy as np
    >>> from nlica import FastICA
    >>> info = mne.create_info(["a", "b"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.random.default_rng(0).laplace(size=(2, 500)), info,
    ...                       verbose=False)
    >>> clean = remove_components(fit_raw(FastICA(random_state=0), raw), raw, [0])
    >>> clean.get_data().shape
    (2, 500)
    """
    if not hasattr(estimator, "inverse_transform"):
        raise TypeError(f"{type(estimator).__name__} has no inverse_transform; components "
                        "cannot be removed from the data.")
    X, names = _data(raw, estimator.picks_)
    S = estimator.transform(X)
    S_kept = S.copy()
    S_kept[:, list(exclude)] = 0.0
    X_clean = X - estimator.inverse_transform(S) + estimator.inverse_transform(S_kept)
    mne = _mne()
    data = raw.get_data()
    data[[raw.ch_names.index(n) for n in names]] = X_clean.T
    cleaned = mne.io.RawArray(data, raw.info.copy(), first_samp=raw.first_samp, verbose=False)
    cleaned.set_annotations(raw.annotations)
    return cleaned
