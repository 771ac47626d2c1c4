"""Index samplers for the neural estimators.

Every sampler draws from one :class:`torch.Generator` on the training device, so batches
are reproducible for a seed and never need a round trip to the host. No segment, pair or
negative sample crosses the boundary between two recordings (the runs of
:func:`nlica.utils.validation.check_groups`).
"""

import numpy as np
import torch

from .utils.validation import check_labels, group_runs

__all__ = [
    "cut_segments",
    "encode_segments",
    "UniformSampler",
    "PairSampler",
]


def cut_segments(runs, segment_length):
    """Cut each recording into consecutive segments of ``segment_length`` samples.

    A last piece shorter than half a segment is merged into the segment before it (within
    the same recording); a longer last piece is kept as a short segment. A recording shorter
    than ``segment_length`` is one segment.

    Parameters
    ----------
    runs : ndarray of shape (n_samples,)
        Recording index of each sample (see :func:`~nlica.utils.validation.check_groups`).
    segment_length : int
        Samples per segment.

    Returns
    -------
    segments : ndarray of shape (n_samples,), dtype int64
        Segment label of each sample, 0, 1, ... in time order.

    Examples
    --------
    >>> cut_segments(np.zeros(7, dtype=int), 3).tolist()
    [0, 0, 0, 1, 1, 1, 1]
    """
    starts, stops = group_runs(runs)
    labels = np.empty(runs.shape[0], dtype=np.int64)
    next_label = 0
    for start, stop in zip(starts, stops):
        length = stop - start
        n_full, rest = divmod(length, segment_length)
        if n_full == 0:
            n_seg = 1
        elif rest and rest * 2 >= segment_length:
            n_seg = n_full + 1
        else:
            n_seg = n_full
        local = np.minimum(np.arange(length) // segment_length, n_seg - 1)
        labels[start:stop] = next_label + local
        next_label += n_seg
    return labels


def encode_segments(segments, n_samples, *, name="segments"):
    """Validate user segment labels and encode them as 0..n_segments-1.

    Each distinct label is one class of the contrastive task, even where it recurs (for
    example an experimental condition repeated in blocks).

    Parameters
    ----------
    segments : array-like of shape (n_samples,)
        Segment (auxiliary variable) label of each sample.
    n_samples : int
        Number of samples of ``X``.
    name : str, default="segments"
        Argument name used in error messages.

    Returns
    -------
    codes : ndarray of shape (n_samples,), dtype int64
        Encoded labels.
    classes : ndarray
        The distinct labels, in the order of their codes.

    Raises
    ------
    ValueError
        On a length mismatch, NaN labels, a non 1-D array or fewer than two segments.

    Examples
    --------
    >>> codes, classes = encode_segments(["b", "b", "a", "a"], 4)
    >>> codes.tolist(), classes.tolist()
    ([1, 1, 0, 0], ['a', 'b'])
    """
    labels = check_labels(segments, n_samples, name=name)
    try:
        classes, codes = np.unique(labels, return_inverse=True)
    except TypeError as exc:
        raise TypeError(f"{name} mixes label types that cannot be compared: {exc}.") from exc
    if classes.shape[0] < 2:
        raise ValueError(
            f"{name} has {classes.shape[0]} distinct label(s); time-contrastive learning "
            "needs at least 2 segments."
        )
    return codes.astype(np.int64).reshape(-1), classes


class UniformSampler:
    """Draw batches of sample indices uniformly with replacement.

    Parameters
    ----------
    n_samples : int
        Number of samples to draw from.
    batch_size : int
        Indices per batch.
    generator : torch.Generator
        Source of randomness; its device is where indices are made.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> UniformSampler(10, 4, g).sample().shape
    torch.Size([4])
    """

    def __init__(self, n_samples, batch_size, generator):
        self.n_samples = int(n_samples)
        self.batch_size = int(batch_size)
        self.generator = generator

    def sample(self):
        """Return a batch of indices.

        Returns
        -------
        idx : torch.LongTensor of shape (batch_size,)
            Indices on the generator's device.
        """
        return torch.randint(
            self.n_samples,
            (self.batch_size,),
            generator=self.generator,
            device=self.generator.device,
        )


class PairSampler:
    """Draw (t, t - lag) index pairs within recordings, with optional negatives.

    Parameters
    ----------
    runs : ndarray of shape (n_samples,)
        Recording index of each sample.
    lag : int
        Time lag between the two elements of a pair.
    batch_size : int
        Pairs per batch.
    generator : torch.Generator
        Source of randomness; its device is where indices are made.

    Attributes
    ----------
    n_pairs : int
        Number of valid pairs.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> s = PairSampler(np.array([0, 0, 0, 1, 1]), 1, 3, g)
    >>> s.n_pairs
    3
    >>> t, t_lag, neg = s.sample(negatives=True)
    >>> bool(((t - t_lag) == 1).all())
    True
    """

    def __init__(self, runs, lag, batch_size, generator):
        runs = np.asarray(runs)
        self.lag = int(lag)
        self.batch_size = int(batch_size)
        self.generator = generator
        device = generator.device
        # Per-recording bookkeeping only (not per sample): pair number k of the whole
        # series is found by a search over the recordings' cumulative pair counts.
        starts, stops = group_runs(runs)
        lengths = stops - starts
        pairs = np.maximum(lengths - self.lag, 0)
        keep = pairs > 0
        starts, lengths, pairs = starts[keep], lengths[keep], pairs[keep]
        self.n_pairs = int(pairs.sum())
        if self.n_pairs == 0:
            raise ValueError(
                f"no (t, t-{self.lag}) pair lies within one recording: every recording needs "
                f"more than lag={self.lag} samples."
            )
        ends = np.cumsum(pairs)
        self._ends = torch.as_tensor(ends, device=device)
        # First pair's current time of each recording, shifted by the pairs before it.
        self._offset = torch.as_tensor(starts + self.lag - (ends - pairs), device=device)
        self._start = torch.as_tensor(starts, device=device)
        self._length = torch.as_tensor(lengths, device=device)

    def sample(self, negatives=False):
        """Return a batch of pairs, and negatives if asked.

        Parameters
        ----------
        negatives : bool, default=False
            Also draw, for each pair, a time in the same recording that differs from the
            lagged time (the permuted element of permutation-contrastive learning).

        Returns
        -------
        t, t_lag : torch.LongTensor of shape (batch_size,)
            The pair's indices.
        t_neg : torch.LongTensor of shape (batch_size,) or None
            The negatives' indices when ``negatives`` is true.
        """
        device = self.generator.device
        pos = torch.randint(
            self.n_pairs, (self.batch_size,), generator=self.generator, device=device
        )
        run = torch.searchsorted(self._ends, pos, right=True)
        t = pos + self._offset[run]
        t_lag = t - self.lag
        if not negatives:
            return t, t_lag, None
        start, length = self._start[run], self._length[run]
        # Uniform over the recording minus the lagged sample: draw among length-1 slots and
        # step over the lagged one. float64 keeps long recordings exact.
        u = torch.rand(
            self.batch_size, generator=self.generator, device=device, dtype=torch.float64
        )
        offset = (u * (length - 1).to(torch.float64)).long()
        offset = torch.minimum(offset, length - 2)
        offset = offset + (offset >= (t_lag - start)).long()
        return t, t_lag, start + offset
