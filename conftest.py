"""Shared pytest set-up: names available to every doctest."""

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace["np"] = np
    doctest_namespace["torch"] = torch
