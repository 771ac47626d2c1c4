"""Fit and apply nlica estimators on an :class:`mne.io.Raw` recording (extra ``eeg``).

MNE stores data channels-first, ``(n_channels, n_times)``; nlica wants time in rows. The
transposition happens here and nowhere else.
"""

import numpy as np

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


def _fitted_picks(estimator):
    """Return the channel names ``estimator`` was fitted on by :func:`fit_raw`."""
    picks = getattr(estimator, "picks_", None)
    if picks is None:
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(
            f"this {type(estimator).__name__} was not fitted with nlica.integrations.mne."
            "fit_raw (it has no picks_); call fit_raw(estimator, raw) first."
        )
    return picks


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
    if not hasattr(estimator, "fit") or not hasattr(estimator, "transform"):
        raise TypeError(
            "estimator must be an nlica estimator (with fit and transform); got "
            f"{estimator!r} of type {type(estimator).__name__}."
        )
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
    X, _ = _data(raw, _fitted_picks(estimator))
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
    X, names = _data(raw, _fitted_picks(estimator))
    S = estimator.transform(X)
    exclude = np.asarray(exclude).reshape(-1)
    if exclude.size == 0:
        exclude = exclude.astype(np.intp)  # [] reads as float
    elif (exclude.dtype.kind not in "iu" or exclude.min() < 0
          or exclude.max() >= S.shape[1]):
        raise ValueError(
            f"exclude must list component indices in [0, {S.shape[1]}); got "
            f"{exclude.tolist()!r}."
        )
    S_kept = S.copy()
    S_kept[:, exclude] = 0.0
    X_clean = X - estimator.inverse_transform(S) + estimator.inverse_transform(S_kept)
    mne = _mne()
    data = raw.get_data()
    data[[raw.ch_names.index(n) for n in names]] = X_clean.T
    cleaned = mne.io.RawArray(data, raw.info.copy(), first_samp=raw.first_samp, verbose=False)
    cleaned.set_annotations(raw.annotations)
    return cleaned
