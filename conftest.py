"""Shared pytest set-up: names available to every doctest, and a one-thread torch fixture."""

import importlib.util

import numpy as np
import pytest
import torch

# Optional integrations are only collected (for their doctests) when their library is there.
collect_ignore = []
if importlib.util.find_spec("mne") is None:
    collect_ignore.append("nlica/integrations/mne.py")


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace["np"] = np
    doctest_namespace["torch"] = torch


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch CPU thread, restoring the count afterwards.

    The test networks are tiny: on a shared 2-core machine a second thread only adds
    contention (a small SlowVAE step takes ~80 ms with 2 threads, ~2 ms with 1).
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)
