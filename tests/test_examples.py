"""Every gallery example runs (in quick mode: fewer samples and steps)."""

import runpy
from pathlib import Path

import matplotlib
import pytest
import sklearn

matplotlib.use("Agg")

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, monkeypatch, tmp_path):
    import matplotlib.pyplot as plt

    monkeypatch.setenv("NLICA_QUICK", "1")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    # An example may switch on metadata routing; keep the global config as it was.
    with sklearn.config_context():
        runpy.run_path(str(path), run_name="__main__")
    assert plt.get_fignums(), "an example should draw at least one figure"
    plt.close("all")


def test_examples_found():
    assert len(EXAMPLES) >= 4
