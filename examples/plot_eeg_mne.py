"""
EEG with MNE-Python: find and remove a blink through MNE's ICA tools
====================================================================

nlica's FastICA decomposes the EEGLAB tutorial recording, read as an :class:`mne.io.Raw`
with its montage; :func:`~nlica.integrations.mne.to_mne_ica` hands the decomposition to
MNE as an :class:`mne.preprocessing.ICA`, so that MNE's own tools find the blink component
(``find_bads_eog``), draw its topographic map (``plot_components``) and remove it
(``apply``). Needs ``pip install 'nlica[eeg,plot]'``.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from nlica import FastICA
from nlica.integrations.mne import (
    find_bads_eog,
    fit_raw,
    load_eeglab_sample_raw,
    to_mne_ica,
    transform_raw,
)

out = Path(os.environ.get("NLICA_EXAMPLES_OUT", "examples_output"))
out.mkdir(parents=True, exist_ok=True)

# 32 channels (30 EEG, 2 EOG) at 128 Hz with the shipped montage; a 1 Hz high-pass removes
# the slow drifts that would otherwise take components of their own.
raw = load_eeglab_sample_raw()
if os.environ.get("NLICA_QUICK"):
    raw.crop(0, 120)  # two minutes are enough to test that the example runs
raw.filter(1.0, None, verbose=False)

# picks=None takes the data channels (here the 30 EEG), not the EOG ones.
est = fit_raw(FastICA(n_components=20, random_state=0, max_iter=500), raw)
print(f"fitted on {len(est.picks_)} channels, {est.n_components_} components")

# %%
# The blink component, found by MNE on nlica's decomposition
# ----------------------------------------------------------
# The EOG electrodes of this recording sit below the eyes and pick up blinks weakly; FPz,
# above the eyes, is the reference MNE recommends when there is no good EOG channel.
ica = to_mne_ica(est, raw)
assert np.allclose(ica.get_sources(raw).get_data(), transform_raw(est, raw).get_data())
bads, scores = ica.find_bads_eog(raw, ch_name="FPz", verbose=False)
bads = [int(b) for b in bads]
print(f"MNE's find_bads_eog: {bads}, |r| = {np.abs(scores[bads]).round(2)}")
# nlica's own score (which also works for the nonlinear estimators) agrees.
print(f"nlica's find_bads_eog: {find_bads_eog(est, raw, ch_name='FPz')[0]}")

fig = ica.plot_components(picks=bads, show=False)
fig.savefig(out / "eeg_mne_blink_topomap.png", dpi=100)

# %%
# Remove it
# ---------
clean = ica.apply(raw.copy(), exclude=bads, verbose=False)
fpz_before = raw.get_data(picks="FPz")[0] * 1e6
fpz_after = clean.get_data(picks="FPz")[0] * 1e6
print(f"FPz variance before {fpz_before.var():.1f} uV^2, after {fpz_after.var():.1f} uV^2")

t = raw.times
window = t < 20
fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(t[window], fpz_before[window], color="0.6", lw=0.8, label="before")
ax.plot(t[window], fpz_after[window], color="C0", lw=0.8, label="after")
ax.set(xlabel="time (s)", ylabel="FPz (uV)", title="Blink removed through mne ICA.apply")
ax.legend(loc="upper right")
fig.tight_layout()
fig.savefig(out / "eeg_mne_blink_removal.png", dpi=100)
