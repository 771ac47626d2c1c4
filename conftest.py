"""Shared pytest set-up: names available to every doctest."""

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
