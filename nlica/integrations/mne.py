"""Fit and apply nlica estimators on MNE-Python recordings (extra ``eeg``).

MNE stores data channels-first, ``(n_channels, n_times)``; nlica wants time in rows. The
transposition happens here and nowhere else. Every function takes an :class:`mne.io.Raw`
or an :class:`mne.Epochs`:

* :func:`fit_raw` fits an estimator on the picked channels. Epochs become ``groups`` (no
  pair or segment of a time-series estimator crosses an epoch), and so do the spans of a
  Raw between ``BAD_*`` annotations, which are left out. Channels of different types
  (EEG and MEG, magnetometers and gradiometers) are each scaled to unit variance first.
* :func:`transform_raw` returns the sources as a Raw (or Epochs) that keeps the
  annotations, ``meas_date`` and events; :func:`remove_components` projects components
  out (estimators with ``inverse_transform``).
* :func:`find_bads_eog` and :func:`find_bads_ecg` score components by their correlation
  with EOG or ECG channels, for any estimator, linear or not.
* :func:`to_mne_ica` turns a fitted :class:`~nlica.FastICA` into an
  :class:`mne.preprocessing.ICA` whose ``get_sources`` equals nlica's ``transform``, for
  MNE's topographic maps (``plot_components``), ``plot_properties``, ``find_bads_eog``,
  ``apply`` and ``save``.
* :func:`load_eeglab_sample_raw` returns the recording shipped with nlica as a Raw, with
  its montage.
"""

import inspect
import numbers

import numpy as np

from ..utils._docstrings import fill_doc

__all__ = [
    "fit_raw",
    "transform_raw",
    "remove_components",
    "find_bads_eog",
    "find_bads_ecg",
    "to_mne_ica",
    "load_eeglab_sample_raw",
]


# Docstring entries shared by the functions below (``<name>`` lines).
_DOC_PARTS = {
    "fitted estimator": "estimator : nlica estimator\n    Fitted with :func:`fit_raw`.",
    "correlate and return": "reject_by_annotation : bool, default=True\n"
    "    For a Raw: correlate over the spans not annotated ``BAD_*``.\n\n"
    "Returns\n-------\nbads : list of int",
    "two-channel raw": ">>> import mne, numpy as np\n>>> from nlica import FastICA\n"
    '>>> info = mne.create_info(["a", "b"], 100.0, "eeg")\n'
    ">>> raw = mne.io.RawArray(np.random.default_rng(0).laplace(size=(2, 500)), info,\n"
    "...                       verbose=False)",
}


def _mne():
    try:
        import mne
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("nlica.integrations.mne needs mne: pip install 'nlica[eeg]'.") from exc
    return mne


def _kind(inst, name="raw"):
    """Return ``"raw"`` or ``"epochs"``; TypeError for anything else."""
    mne = _mne()
    if isinstance(inst, mne.io.BaseRaw):
        return "raw"
    if isinstance(inst, mne.BaseEpochs):
        return "epochs"
    raise TypeError(
        f"{name} must be an mne.io.Raw or mne.Epochs; got {type(inst).__name__}. A numpy "
        "array goes to the estimator directly (time in rows: pass raw.get_data().T)."
    )


def _pick_names(inst, picks):
    """Channel names for ``picks`` in MNE's own vocabulary; ``None`` means data channels.

    "data" in MNE excludes EOG, ECG, stimulus and misc channels; bad channels are left out
    as MNE's ICA does.
    """
    mne = _mne()
    if picks is None:
        picks = "data"
    if isinstance(picks, np.ndarray):
        picks = picks.tolist()
    # A one-sample stand-in, so that MNE itself interprets picks (types, names, indices,
    # "data", "all") on the real info without copying the recording.
    stand_in = mne.io.RawArray(np.zeros((inst.info["nchan"], 1)), inst.info, verbose=False)
    try:
        names = stand_in.pick(picks, exclude="bads").ch_names
    except (ValueError, TypeError, IndexError) as exc:
        raise ValueError(
            f"picks={picks!r} could not be read by MNE ({exc}); use a channel type "
            "('eeg', 'data', ...), a list of types or names, or indices."
        ) from exc
    if not names:
        raise ValueError(f"picks={picks!r} selects no (good) channel of this recording.")
    return list(names)


def _scales(inst, names, X):
    """One factor per channel: 1 for a single channel type, else 1 / std of its type."""
    types = np.array(inst.get_channel_types(picks=names))
    scales = np.ones(len(names))
    if np.unique(types).size > 1:
        for t in np.unique(types):
            cols = types == t
            block = X[:, cols]
            std = float(np.std(block - block.mean(axis=0)))
            if std > 0:
                scales[cols] = 1.0 / std
    return scales


def _good_samples(raw, names, reject_by_annotation):
    """Return a Raw's data without its BAD_* spans and the span (group) of each sample."""
    data = raw.get_data(picks=names, reject_by_annotation="NaN" if reject_by_annotation else None)
    good = ~np.isnan(data).any(axis=0)
    starts = good & ~np.concatenate([[False], good[:-1]])
    groups = np.cumsum(starts)[good] - 1
    return data[:, good].T, groups, good


def _data(inst, names, reject_by_annotation=True):
    """``X`` (time in rows), ``groups`` and the sample mask (Raw) or epoch length."""
    if _kind(inst) == "raw":
        return _good_samples(inst, names, reject_by_annotation)
    data = inst.get_data(picks=names)  # (n_epochs, n_channels, n_times)
    n_epochs, n_channels, n_times = data.shape
    X = data.transpose(0, 2, 1).reshape(-1, n_channels)
    return X, np.repeat(np.arange(n_epochs), n_times), n_times


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


def _fitted_scales(estimator):
    scales = getattr(estimator, "ch_scales_", None)
    return np.ones(len(estimator.picks_)) if scales is None else np.asarray(scales)


def _check_channels(inst, names):
    missing = [n for n in names if n not in inst.ch_names]
    if missing:
        raise ValueError(
            f"the recording lacks channel(s) {missing} that the estimator was fitted on."
        )


def _accepts(method, name):
    try:
        return name in inspect.signature(method).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False


def fit_raw(estimator, inst, *, picks=None, reject_by_annotation=True, **fit_params):
    """Fit ``estimator`` on the channels of a Raw or Epochs (time samples as rows).

    Parameters
    ----------
    estimator : nlica estimator
        An unfitted estimator (e.g. :class:`~nlica.FastICA`, :class:`~nlica.TCL`).
    inst : mne.io.Raw or mne.Epochs
        The recording. Epochs are fitted on their samples, each epoch one group, so the
        time-series estimators never pair samples of two epochs.
    picks : str, list of str or int, default=None
        Channels, as MNE reads them: a type (``"eeg"``), ``"data"``, a list of types or
        names, or indices. ``None`` means ``"data"``: EEG, MEG, sEEG, ECoG, ... without EOG,
        ECG, stimulus or misc channels. Bad channels are left out.
    reject_by_annotation : bool, default=True
        For a Raw: leave out the spans annotated ``BAD_*``; the good spans between them
        become groups.
    **fit_params
        Passed to ``estimator.fit``. For TCL and IVAE, ``segments`` may hold one label per epoch
        (Epochs) or per sample of the Raw; the rejected samples are dropped from it.

    Returns
    -------
    estimator : nlica estimator
        The fitted estimator, with ``picks_`` (channel names used) and ``ch_scales_``
        (the factor each channel was multiplied by: 1 unless channel types are mixed).

    Examples
    --------
    >>> import mne, numpy as np
    >>> from nlica import FastICA
    >>> info = mne.create_info(["Fz", "Cz", "Pz", "EOG"], 100.0,
    ...                        ["eeg", "eeg", "eeg", "eog"])
    >>> raw = mne.io.RawArray(np.random.default_rng(0).laplace(size=(4, 500)), info,
    ...                       verbose=False)
    >>> fit_raw(FastICA(random_state=0), raw).picks_
    ['Fz', 'Cz', 'Pz']
    >>> fit_raw(FastICA(random_state=0), raw, picks=["eeg", "eog"]).picks_
    ['Fz', 'Cz', 'Pz', 'EOG']
    """
    if not hasattr(estimator, "fit") or not hasattr(estimator, "transform"):
        raise TypeError(
            "estimator must be an nlica estimator (with fit and transform); got "
            f"{estimator!r} of type {type(estimator).__name__}."
        )
    kind = _kind(inst, "inst")
    names = _pick_names(inst, picks)
    X, groups, extent = _data(inst, names, reject_by_annotation)
    if "groups" in fit_params:
        raise ValueError(
            "groups cannot be passed to fit_raw: they come from the recording (one per "
            "epoch, or per span between BAD_ annotations)."
        )
    segments = fit_params.get("segments")
    if segments is not None:
        segments = np.asarray(segments)
        if kind == "epochs" and segments.shape == (len(inst),):
            fit_params["segments"] = np.repeat(segments, extent)
        elif kind == "raw" and segments.shape == (extent.size,):
            fit_params["segments"] = segments[extent]
    scales = _scales(inst, names, X)
    if _accepts(estimator.fit, "groups") and np.unique(groups).size > 1:
        fit_params["groups"] = groups
    estimator.fit(X * scales, **fit_params)
    estimator.picks_ = names
    estimator.ch_scales_ = scales
    return estimator


def _sources(estimator, inst, reject_by_annotation=False):
    names = _fitted_picks(estimator)
    _check_channels(inst, names)
    X, groups, extent = _data(inst, names, reject_by_annotation)
    return estimator.transform(X * _fitted_scales(estimator)), groups, extent


def _source_info(inst, n_components):
    mne = _mne()
    names = [f"ICA{i:03d}" for i in range(n_components)]
    info = mne.create_info(names, inst.info["sfreq"], "misc")
    # Keep the clock, so that annotations and events stay where they were.
    info.set_meas_date(inst.info["meas_date"])
    return info


@fill_doc(_DOC_PARTS)
def transform_raw(estimator, inst):
    """Return the estimated sources of ``inst``, channels ``ICA000``, ``ICA001``, ...

    Parameters
    ----------
    <fitted estimator>
    inst : mne.io.Raw or mne.Epochs
        Recording with the channels the estimator was fitted on.

    Returns
    -------
    sources : mne.io.RawArray or mne.EpochsArray
        One ``misc`` channel per component, with the sampling rate, first sample,
        ``meas_date`` and annotations of a Raw (every sample, bad spans included), or the
        events, ``tmin`` and metadata of Epochs.

    Examples
    --------
    <two-channel raw>
    >>> raw.set_annotations(mne.Annotations([1.0], [0.5], ["blink"]))  # doctest: +ELLIPSIS
    <RawArray ...>
    >>> sources = transform_raw(fit_raw(FastICA(random_state=0), raw), raw)
    >>> sources.ch_names, list(sources.annotations.description)
    (['ICA000', 'ICA001'], ['blink'])
    """
    mne = _mne()
    kind = _kind(inst, "inst")
    S, _, extent = _sources(estimator, inst)
    info = _source_info(inst, S.shape[1])
    if kind == "raw":
        sources = mne.io.RawArray(S.T, info, first_samp=inst.first_samp, verbose=False)
        sources.set_annotations(inst.annotations)
        return sources
    data = S.reshape(len(inst), extent, S.shape[1]).transpose(0, 2, 1)
    return mne.EpochsArray(
        data,
        info,
        events=inst.events,
        tmin=inst.tmin,
        event_id=inst.event_id,
        metadata=inst.metadata,
        verbose=False,
    )


def _check_exclude(exclude, n_components):
    exclude = np.asarray(exclude).reshape(-1)
    if exclude.size == 0:
        return exclude.astype(np.intp)  # [] reads as float
    if exclude.dtype.kind not in "iu" or exclude.min() < 0 or exclude.max() >= n_components:
        raise ValueError(
            f"exclude must list component indices in [0, {n_components}); got {exclude.tolist()!r}."
        )
    return exclude


@fill_doc(_DOC_PARTS)
def remove_components(estimator, inst, exclude=None):
    """Return a copy of ``inst`` with the ``exclude`` components projected out.

    Needs an estimator with ``inverse_transform`` (every nlica estimator; TCL's sources are
    magnitudes, so its reconstruction cannot restore signs). The part of the data
    outside the estimator's components (when ``n_components`` < channels) is kept, and so
    is everything MNE stores beside the data (annotations, events, other channels).

    Parameters
    ----------
    <fitted estimator>
    inst : mne.io.Raw or mne.Epochs
        The recording, preloaded.
    exclude : list of int, default=None
        Components to remove (e.g. the blink component); ``None`` uses
        ``estimator.exclude_``, the list of the previous call (empty at first). The list
        used is kept in ``estimator.exclude_`` (and goes to MNE with :func:`to_mne_ica`).

    Returns
    -------
    cleaned : mne.io.Raw or mne.Epochs
        A copy of ``inst`` with the picked channels cleaned.

    Examples
    --------
    <two-channel raw>
    >>> ica = fit_raw(FastICA(random_state=0), raw)
    >>> clean = remove_components(ica, raw, [0])
    >>> clean.get_data().shape, ica.exclude_
    ((2, 500), [0])
    """
    if not hasattr(estimator, "inverse_transform"):
        raise TypeError(
            f"{type(estimator).__name__} has no inverse_transform; components "
            "cannot be removed from the data."
        )
    _kind(inst, "inst")
    names = _fitted_picks(estimator)
    _check_channels(inst, names)
    if not inst.preload:
        raise ValueError("inst must be preloaded (raw.load_data()) to remove components.")
    n_components = int(estimator.n_components_)
    if exclude is None:
        exclude = getattr(estimator, "exclude_", [])
    exclude = _check_exclude(exclude, n_components)
    scales = _fitted_scales(estimator)

    def clean(data):  # (n_picked, n_times), or (n_epochs, n_picked, n_times) for Epochs
        if data.ndim == 3:
            return np.stack([clean(epoch) for epoch in data])
        X = data.T * scales
        S = estimator.transform(X)
        S_kept = S.copy()
        S_kept[:, exclude] = 0.0
        X_clean = X - estimator.inverse_transform(S) + estimator.inverse_transform(S_kept)
        return (X_clean / scales).T

    cleaned = inst.copy().apply_function(clean, picks=names, channel_wise=False, verbose=False)
    estimator.exclude_ = [int(i) for i in exclude]
    return cleaned


def _outliers(scores, threshold, measure):
    """Return the indices whose |score| is an outlier (repeated z-score, or a bound)."""
    a = np.abs(scores)
    if measure == "correlation":
        return np.flatnonzero(a > threshold).tolist()
    found = []
    remaining = np.arange(a.size)
    # Remove the worst until none stands out: one huge blink must not hide a second one.
    while remaining.size > 2:
        vals = a[remaining]
        std = vals.std()
        if std == 0:
            break
        z = (vals - vals.mean()) / std
        top = int(np.argmax(z))
        if z[top] <= threshold:
            break
        found.append(int(remaining[top]))
        remaining = np.delete(remaining, top)
    return sorted(found)


def _find_bads(
    estimator, inst, ch_name, ch_type, threshold, measure, l_freq, h_freq, reject_by_annotation
):
    mne = _mne()
    kind = _kind(inst, "inst")
    if measure not in ("zscore", "correlation"):
        raise ValueError(f"measure must be 'zscore' or 'correlation'; got {measure!r}.")
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not threshold > 0:
        raise ValueError(f"threshold must be a number > 0; got {threshold!r}.")
    if ch_name is None:
        ref_names = [n for n, t in zip(inst.ch_names, inst.get_channel_types()) if t == ch_type]
        if not ref_names:
            raise ValueError(
                f"the recording has no {ch_type.upper()} channel; name one with ch_name= "
                f"(e.g. a frontal EEG channel for blinks)."
            )
    else:
        ref_names = [ch_name] if isinstance(ch_name, str) else list(ch_name)
        _check_channels(inst, ref_names)
    S, _, extent = _sources(estimator, inst, reject_by_annotation=False)
    ref = _data(inst, ref_names, False)[0]
    sfreq = inst.info["sfreq"]

    def band(x):  # time in rows
        x = np.ascontiguousarray(x.T, dtype=np.float64)
        if kind == "epochs":  # filter each epoch on its own
            n = x.shape[1] // extent
            x = x.reshape(x.shape[0], n, extent).transpose(1, 0, 2)
            x = mne.filter.filter_data(x, sfreq, l_freq, h_freq, verbose=False)
            return x.transpose(1, 0, 2).reshape(x.shape[1], -1).T
        return mne.filter.filter_data(x, sfreq, l_freq, h_freq, verbose=False).T

    S, ref = band(S), band(ref)
    if kind == "raw" and reject_by_annotation:
        # Correlate over the good spans only; filtering ran on the whole recording.
        good = _good_samples(inst, ref_names[:1], True)[2]
        S, ref = S[good], ref[good]
    Sc, Rc = S - S.mean(axis=0), ref - ref.mean(axis=0)
    denom = np.outer(np.linalg.norm(Rc, axis=0), np.linalg.norm(Sc, axis=0))
    scores = (Rc.T @ Sc) / np.where(denom > 0, denom, np.inf)
    bads = sorted({i for row in scores for i in _outliers(row, threshold, measure)})
    return bads, (scores[0] if scores.shape[0] == 1 else scores)


@fill_doc(_DOC_PARTS)
def find_bads_eog(
    estimator,
    inst,
    ch_name=None,
    *,
    threshold=3.0,
    measure="zscore",
    l_freq=1.0,
    h_freq=10.0,
    reject_by_annotation=True,
):
    """Find the components that follow the EOG (blinks, eye movements).

    Works for any estimator fitted with :func:`fit_raw`, linear or nonlinear: each
    component's source and each EOG channel are band-passed (``l_freq`` to ``h_freq``), and
    their Pearson correlation is scored as in MNE's ``ICA.find_bads_eog``.

    Parameters
    ----------
    <fitted estimator>
    inst : mne.io.Raw or mne.Epochs
        The recording, with its EOG channel(s).
    ch_name : str or list of str, default=None
        Reference channel(s); ``None`` uses every EOG channel. A frontal EEG channel
        (``"Fp1"``) works when there is none.
    threshold : float, default=3.0
        With ``measure="zscore"``: components whose absolute correlation lies more than
        ``threshold`` standard deviations above the others' (repeated, the worst removed
        each time). With ``"correlation"``: an absolute correlation bound in (0, 1).
    measure : {"zscore", "correlation"}, default="zscore"
        How ``threshold`` is read.
    l_freq, h_freq : float, default=1.0, 10.0
        Band of the filter applied before correlating.
    <correlate and return>
        The components found, in increasing order (for every reference channel).
    scores : ndarray of shape (n_components,) or (n_channels, n_components)
        Correlation of each component with each reference channel (one row per channel,
        a single row is flattened).

    Examples
    --------
    >>> import mne, numpy as np
    >>> from nlica import FastICA
    >>> rng = np.random.default_rng(0)
    >>> S = rng.laplace(size=(6, 4000))
    >>> S[0] = np.convolve(rng.random(4000) > 0.995, np.hanning(40), "same") * 20
    >>> A = rng.uniform(-1, 1, (6, 6))
    >>> info = mne.create_info([f"E{i}" for i in range(6)] + ["EOG"], 100.0,
    ...                        ["eeg"] * 6 + ["eog"])
    >>> raw = mne.io.RawArray(np.vstack([A @ S, S[:1]]), info, verbose=False)
    >>> ica = fit_raw(FastICA(random_state=0), raw)
    >>> bads, scores = find_bads_eog(ica, raw, measure="correlation", threshold=0.8)
    >>> len(bads), bool(abs(scores[bads[0]]) > 0.9)
    (1, True)
    """
    return _find_bads(
        estimator, inst, ch_name, "eog", threshold, measure, l_freq, h_freq, reject_by_annotation
    )


@fill_doc(_DOC_PARTS)
def find_bads_ecg(
    estimator,
    inst,
    ch_name=None,
    *,
    threshold=3.0,
    measure="zscore",
    l_freq=8.0,
    h_freq=16.0,
    reject_by_annotation=True,
):
    """Find the components that follow the ECG (heartbeat).

    The same correlation score as :func:`find_bads_eog`, with the ECG channel(s) and the
    band of the QRS complex (8 to 16 Hz).

    Parameters
    ----------
    <fitted estimator>
    inst : mne.io.Raw or mne.Epochs
        The recording, with its ECG channel(s).
    ch_name : str or list of str, default=None
        Reference channel(s); ``None`` uses every ECG channel.
    threshold : float, default=3.0
        See :func:`find_bads_eog`.
    measure : {"zscore", "correlation"}, default="zscore"
        See :func:`find_bads_eog`.
    l_freq, h_freq : float, default=8.0, 16.0
        Band of the filter applied before correlating.
    <correlate and return>
        The components found.
    scores : ndarray of shape (n_components,) or (n_channels, n_components)
        Correlation of each component with each ECG channel.

    Examples
    --------
    >>> import mne, numpy as np
    >>> from nlica import FastICA
    >>> rng = np.random.default_rng(1)
    >>> S = rng.laplace(size=(5, 6000))
    >>> S[0] = np.convolve(np.arange(6000) % 80 == 0, [0, -1, 6, -2, 0], "same") * 5
    >>> info = mne.create_info([f"E{i}" for i in range(5)] + ["ECG"], 200.0,
    ...                        ["eeg"] * 5 + ["ecg"])
    >>> A = rng.uniform(-1, 1, (5, 5))
    >>> raw = mne.io.RawArray(np.vstack([A @ S, S[:1]]), info, verbose=False)
    >>> ica = fit_raw(FastICA(random_state=0), raw)
    >>> len(find_bads_ecg(ica, raw, measure="correlation", threshold=0.8)[0])
    1
    """
    return _find_bads(
        estimator, inst, ch_name, "ecg", threshold, measure, l_freq, h_freq, reject_by_annotation
    )


def to_mne_ica(estimator, inst):
    """Turn a fitted :class:`~nlica.FastICA` into an :class:`mne.preprocessing.ICA`.

    The ICA's ``get_sources`` equals nlica's ``transform`` (on the same channels), so MNE's
    tools work on nlica's decomposition: ``plot_components`` (topographic maps, when the
    recording has a montage), ``plot_properties``, ``plot_sources``, ``find_bads_eog``,
    ``apply`` and ``save``. The unmixing is written in MNE's form: an orthonormal basis of
    the channels (``pca_components_``) whose first ``n_components`` rows span the
    components, then a square ``unmixing_matrix_``; channels are scaled back by
    ``pre_whitener_`` when types were mixed. The rest of the data space is kept by
    ``apply``, as in :func:`remove_components`.

    Parameters
    ----------
    estimator : FastICA
        Fitted with :func:`fit_raw` (a linear estimator with ``components_``).
    inst : mne.io.Raw or mne.Epochs
        The recording it was fitted on (channel information, explained variances).

    Returns
    -------
    ica : mne.preprocessing.ICA
        A fitted ICA with ``exclude`` set from ``estimator.exclude_`` (if any).

    Examples
    --------
    >>> import mne, numpy as np
    >>> from nlica import FastICA
    >>> info = mne.create_info(["a", "b", "c"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.random.default_rng(0).laplace(size=(3, 500)), info,
    ...                       verbose=False)
    >>> est = fit_raw(FastICA(random_state=0), raw)
    >>> ica = to_mne_ica(est, raw)
    >>> np.allclose(ica.get_sources(raw).get_data(), transform_raw(est, raw).get_data())
    True
    """
    mne = _mne()
    kind = _kind(inst, "inst")
    names = _fitted_picks(estimator)
    _check_channels(inst, names)
    components = getattr(estimator, "components_", None)
    if components is None or not hasattr(estimator, "mixing_"):
        raise TypeError(
            f"to_mne_ica needs a linear estimator with components_ (FastICA); got "
            f"{type(estimator).__name__}. For nonlinear estimators use transform_raw and "
            "find_bads_eog."
        )
    C = np.asarray(components, dtype=np.float64)  # (k, n_channels), scaled units
    k, n_channels = C.shape
    mean = getattr(estimator, "mean_", None)
    mean = np.zeros(n_channels) if mean is None else np.asarray(mean, dtype=np.float64)
    scales = _fitted_scales(estimator)
    # C = u diag(s) vt: vt's rows are an orthonormal basis of the channel space whose first
    # k rows span C's rows, the shape MNE's PCA stage expects.
    u, s, vt = np.linalg.svd(C, full_matrices=True)
    X = _data(inst, names, True)[0] * scales - mean
    ica = mne.preprocessing.ICA(n_components=k, method="fastica")
    ica.info = mne.pick_info(inst.info, [inst.ch_names.index(n) for n in names])
    ica.ch_names = list(names)
    ica.current_fit = kind
    ica.n_components_ = k
    ica.n_pca_components = None
    ica._max_pca_components = n_channels
    ica.pre_whitener_ = (1.0 / scales)[:, None]
    ica.pca_mean_ = mean
    ica.pca_components_ = vt
    ica.pca_explained_variance_ = np.var(X @ vt.T, axis=0)
    ica.unmixing_matrix_ = u * s
    ica.mixing_matrix_ = np.linalg.pinv(ica.unmixing_matrix_)
    ica._ica_names = [f"ICA{i:03d}" for i in range(k)]
    ica.n_samples_ = X.shape[0]
    ica.n_iter_ = getattr(estimator, "n_iter_", None)
    ica.reject_ = None
    ica.labels_ = {}
    ica.exclude = list(getattr(estimator, "exclude_", []))
    return ica


def load_eeglab_sample_raw():
    """Load the EEGLAB tutorial recording shipped with nlica as an :class:`mne.io.Raw`.

    The data of :func:`nlica.datasets.load_eeglab_sample` in volts, channels first, with
    ``EOG1`` and ``EOG2`` typed ``eog``, the montage from the shipped channel locations,
    and the events as annotations.

    Returns
    -------
    raw : mne.io.RawArray
        32 channels at 128 Hz, preloaded.

    Examples
    --------
    >>> raw = load_eeglab_sample_raw()
    >>> len(raw.ch_names), raw.get_channel_types(picks=["FPz", "EOG1"])
    (32, ['eeg', 'eog'])
    >>> raw.get_montage() is not None
    True
    """
    mne = _mne()
    from ..datasets import load_eeglab_sample

    eeg = load_eeglab_sample()
    types = ["eog" if name.upper().startswith("EOG") else "eeg" for name in eeg.ch_names]
    info = mne.create_info(eeg.ch_names, eeg.sfreq, types)
    raw = mne.io.RawArray(eeg.data.T * 1e-6, info, verbose=False)
    # MNE places EEG-type channels only; the EOG electrodes keep no position.
    eeg_pos = {n: p for n, p in eeg.ch_pos.items() if types[eeg.ch_names.index(n)] == "eeg"}
    raw.set_montage(
        mne.channels.make_dig_montage(ch_pos=eeg_pos, coord_frame="head"), verbose=False
    )
    if eeg.events:
        onsets = np.array([lat for lat, _ in eeg.events]) / eeg.sfreq
        raw.set_annotations(
            mne.Annotations(onsets, np.zeros(len(onsets)), [kind for _, kind in eeg.events])
        )
    return raw
