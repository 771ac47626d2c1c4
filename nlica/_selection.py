"""Held-out rows and ``mixing="auto"``: the neural template's model selection.

The last rows in time are held out; with ``mixing="auto"`` the linear special case and the
network are both fitted on the other rows and scored on them, block by block, and the
network is kept only when it wins by more than one standard error (plus the estimator's
margin). The held-out rows also measure ``reconstruction_r2_``.
"""

import numpy as np

from ._rows import _relabel, _Rows
from .utils.validation import group_runs

__all__ = ["SelectionMixin"]

# Share of the rows held out (data of at least _MIN_HOLDOUT_ROWS rows) to choose between
# the linear and the nonlinear model and to measure reconstruction_r2_.
_HOLDOUT = 0.1
# Contiguous blocks of held-out rows over which mixing="auto" takes its standard error.
_SCORE_BLOCKS = 10
# The shortest recording piece a block may hold (enough rows to score).
_MIN_SCORE_PIECE = 64
_MIN_HOLDOUT_ROWS = 1000


def _score_blocks(runs, min_piece):
    """Cut held-out rows into about ``_SCORE_BLOCKS`` contiguous blocks.

    Whole recordings go to a block where there are enough of them; otherwise the rows are
    cut evenly, dropping any cut that would leave a recording piece shorter than
    ``min_piece`` rows (too short to score).
    """
    n = runs.shape[0]
    starts = group_runs(_relabel(runs))[0]
    if starts.size >= _SCORE_BLOCKS:
        cuts = starts[np.linspace(0, starts.size, _SCORE_BLOCKS + 1).astype(int)[1:-1]]
        return np.split(np.arange(n), cuts)
    bounds = np.concatenate([starts, [n]])
    cuts = []
    for cut in np.linspace(0, n, _SCORE_BLOCKS + 1).astype(int)[1:-1]:
        gaps = np.abs(np.concatenate([bounds, cuts]) - cut)
        if gaps.min() >= min_piece:
            cuts.append(int(cut))
    return np.split(np.arange(n), sorted(cuts))


def _block_standard_error(values, weights):
    """Return the standard error of the weighted mean of per-block ``values``."""
    if values.size < 2:
        return 0.0
    mean = np.average(values, weights=weights)
    w = weights / weights.sum()
    return float(np.sqrt(np.sum(w**2 * (values - mean) ** 2) * values.size / (values.size - 1)))


class SelectionMixin:
    """The held-out split and ``mixing="auto"`` of :class:`nlica._neural.BaseNeuralICA`.

    The estimator provides the hooks ``_subset_fit_params``, ``_min_piece_rows``,
    ``_heldout_score``, ``_selection_margin``, ``_refits_network`` and ``_after_fit``, and
    ``_train_module``.

    Examples
    --------
    >>> import numpy as np
    >>> from nlica import PCL
    >>> runs = np.zeros(2000, dtype=int)
    >>> train, held_out = PCL()._split(runs, {})
    >>> train.size, int(held_out[0])
    (1800, 1800)
    """

    def _split(self, runs, fit_params):
        """Rows to train on and rows held out (the last ones in time; none when few).

        The held-out rows choose between the linear and the nonlinear model
        (``mixing="auto"``) and measure ``reconstruction_r2_``.
        """
        n = runs.shape[0]
        start = n - int(n * _HOLDOUT) if n >= _MIN_HOLDOUT_ROWS else n
        # Whole recordings are held out where a recording starts in the last 10%, so no
        # held-out piece is too short to score (epochs as groups, for example).
        later = np.flatnonzero(runs[start:] != runs[start - 1]) if 0 < start < n else []
        if len(later):
            start += int(later[0])
        return np.arange(start), np.arange(start, n)

    def _select_mixing(self, X, Z, runs, fit_params, train_idx, test_idx):
        """Fit the linear and the nonlinear model on the training rows and keep one.

        Sets ``selected_model_`` and ``model_scores_`` (mean held-out score of each).
        """
        Z_fit, runs_fit = _Rows(Z, train_idx), _relabel(runs[train_idx])
        params_fit = self._subset_fit_params(fit_params, train_idx)
        held_out = np.asarray(X[test_idx])
        runs_test = runs[test_idx]
        blocks = _score_blocks(runs_test, self._min_piece_rows())
        candidates = {}
        for kind in ("linear", "nonlinear"):
            self.selected_model_ = kind
            self._train_module(Z_fit, runs_fit, params_fit)
            scores = np.array(
                [
                    self._heldout_score(
                        held_out[b], _relabel(runs_test[b]), fit_params, test_idx[b]
                    )
                    for b in blocks
                ]
            )
            candidates[kind] = (
                scores,
                {k: v for k, v in vars(self).items() if k.endswith("_")},
            )
        # The nonlinear model must beat its own linear special case on held-out data by
        # more than one standard error of the difference (the one-standard-error rule:
        # the simpler model unless the data clearly say otherwise). The error is taken
        # over contiguous blocks of held-out rows, so autocorrelated rows (EEG) do not
        # count as independent evidence.
        weights = np.array([b.size for b in blocks], dtype=np.float64)
        diff = candidates["nonlinear"][0] - candidates["linear"][0]
        bound = _block_standard_error(diff, weights) + self._selection_margin()
        kind = "nonlinear" if np.average(diff, weights=weights) > bound else "linear"
        vars(self).update(candidates[kind][1])
        self.selected_model_ = kind
        self.model_scores_ = {
            k: float(np.average(v[0], weights=weights)) for k, v in candidates.items()
        }
        if kind == "nonlinear" and self._refits_network():
            # The network of mixing="nonlinear", trained on every row.
            self._train_module(Z, runs, fit_params)
        else:
            # The kept model's statistics (ICA, normalisation) are taken on all rows.
            self._after_fit(Z, runs, fit_params)
