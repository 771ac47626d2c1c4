import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nlica.samplers import PairSampler, UniformSampler, cut_segments, encode_segments
from nlica.utils.validation import check_groups, group_runs

SETTINGS = settings(max_examples=30, deadline=None)


def _runs(lengths):
    return np.repeat(np.arange(len(lengths)), lengths)


def _sampler(runs, lag, batch_size, seed=0):
    return PairSampler(runs, lag, batch_size, torch.Generator().manual_seed(seed))


@SETTINGS
@given(
    lengths=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    lag=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_pairs_and_negatives_stay_in_their_recording(lengths, lag, seed):
    runs = _runs(lengths)
    if not any(n > lag for n in lengths):
        with pytest.raises(ValueError, match=f"lag={lag}"):
            _sampler(runs, lag, 8)
        return
    sampler = _sampler(runs, lag, 256, seed)
    assert sampler.n_pairs == sum(max(0, n - lag) for n in lengths)
    t, t_lag, neg = (x.numpy() for x in sampler.sample(negatives=True))
    assert t.shape == t_lag.shape == neg.shape == (256,)
    assert np.all(t - t_lag == lag)
    assert np.all(runs[t] == runs[t_lag])
    assert np.all(runs[neg] == runs[t])
    assert np.all(neg != t_lag)
    assert np.all((neg >= 0) & (neg < runs.shape[0]))
    t2, t_lag2, neg2 = sampler.sample()
    assert neg2 is None and torch.equal(t2 - t_lag2, torch.full_like(t2, lag))


@SETTINGS
@given(labels=st.lists(st.sampled_from("abc"), min_size=2, max_size=60), seed=st.integers(0, 2**16))
def test_recurring_labels_are_separate_recordings(labels, seed):
    # A label that comes back after another recording starts a new run: no pair joins them.
    runs = check_groups(np.array(labels), len(labels))
    starts, stops = group_runs(runs)
    if not np.any(stops - starts > 1):
        return
    t, t_lag, neg = (x.numpy() for x in _sampler(runs, 1, 128, seed).sample(negatives=True))
    for a, b in ((t, t_lag), (t, neg)):
        assert np.all(runs[a] == runs[b])
        # Within one run every sample has the same label.
        assert np.all(np.array(labels)[a] == np.array(labels)[b])


def test_reproducible_for_a_seed():
    runs = _runs([30, 50, 20])
    a = _sampler(runs, 2, 64, seed=5)
    b = _sampler(runs, 2, 64, seed=5)
    c = _sampler(runs, 2, 64, seed=6)
    for _ in range(3):
        xa, xb, xc = a.sample(True), b.sample(True), c.sample(True)
        assert all(torch.equal(u, v) for u, v in zip(xa, xb))
    assert not torch.equal(xa[2], xc[2])


def test_coverage_is_roughly_uniform():
    runs = _runs([40, 60])
    sampler = _sampler(runs, 1, 200_000, seed=0)
    t, t_lag, neg = (x.numpy() for x in sampler.sample(negatives=True))
    # Every valid pair is drawn about equally often (98 pairs).
    counts = np.bincount(t, minlength=100)
    valid = np.r_[np.arange(1, 40), np.arange(41, 100)]
    assert counts[0] == counts[40] == 0
    expected = t.size / valid.size
    assert np.all(np.abs(counts[valid] - expected) < 6 * np.sqrt(expected))
    # Negatives of one fixed pair are uniform over its recording minus the lagged sample.
    first = t == 20
    neg_counts = np.bincount(neg[first], minlength=100)[:40]
    assert neg_counts[19] == 0 and neg_counts[40:].sum() == 0
    others = np.delete(neg_counts, 19)
    exp = first.sum() / 39
    assert np.all(np.abs(others - exp) < 6 * np.sqrt(exp))


def test_two_sample_recording_negative_is_the_current_sample():
    # The only negative of the pair (1, 0) in a run of two samples is sample 1 itself.
    _, t_lag, neg = _sampler(np.zeros(2, dtype=int), 1, 16).sample(negatives=True)
    assert torch.equal(t_lag, torch.zeros(16, dtype=torch.long))
    assert torch.equal(neg, torch.ones(16, dtype=torch.long))


def test_uniform_sampler():
    idx = UniformSampler(10, 1000, torch.Generator().manual_seed(0)).sample()
    assert idx.shape == (1000,) and int(idx.min()) >= 0 and int(idx.max()) < 10


@SETTINGS
@given(
    lengths=st.lists(st.integers(1, 50), min_size=1, max_size=5), segment_length=st.integers(1, 20)
)
def test_cut_segments_never_straddle_runs(lengths, segment_length):
    runs = _runs(lengths)
    labels = cut_segments(runs, segment_length)
    assert labels.shape == runs.shape and labels[0] == 0
    assert np.all(np.diff(labels) >= 0) and np.all(np.diff(labels) <= 1)
    # One run per segment, and a new segment at every run start.
    for seg in np.unique(labels):
        assert np.unique(runs[labels == seg]).size == 1
    starts, _ = group_runs(runs)
    assert np.all(labels[starts[1:]] != labels[starts[1:] - 1])
    # Segment sizes: full segments, a kept last piece of at least half, a merged piece
    # making a segment shorter than 1.5 lengths, or a whole short run.
    sizes = np.bincount(labels)
    assert np.all(sizes < 1.5 * segment_length + 1)


def test_cut_segments_last_piece_rule():
    assert cut_segments(np.zeros(7, dtype=int), 3).tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert cut_segments(np.zeros(8, dtype=int), 3).tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert cut_segments(np.zeros(2, dtype=int), 5).tolist() == [0, 0]
    assert cut_segments(_runs([4, 2]), 3).tolist() == [0, 0, 0, 0, 1, 1]


def test_encode_segments():
    codes, classes = encode_segments([3, 3, 1, 1, 3], 5)
    assert codes.tolist() == [1, 1, 0, 0, 1] and classes.tolist() == [1, 3]
    with pytest.raises(ValueError, match="has 2 entries but X has 3 samples"):
        encode_segments([0, 1], 3)
    with pytest.raises(ValueError, match="at least 2 segments"):
        encode_segments([0, 0, 0], 3)
    with pytest.raises(ValueError, match="NaN"):
        encode_segments([0.0, np.nan], 2)
    with pytest.raises(ValueError, match="1-D"):
        encode_segments(np.zeros((2, 2)), 2)
