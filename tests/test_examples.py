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

    out = tmp_path / "figures"
    monkeypatch.setenv("NLICA_QUICK", "1")
    monkeypatch.setenv("NLICA_EXAMPLES_OUT", str(out))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    plt.close("all")
    # An example may switch on metadata routing; keep the global config as it was.
    with sklearn.config_context():
        runpy.run_path(str(path), run_name="__main__")
    n_figures = len(plt.get_fignums())
    plt.close("all")
    assert n_figures, "an example should draw at least one figure"
    # Every figure is also saved as a PNG to NLICA_EXAMPLES_OUT.
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == n_figures, (pngs, n_figures)
    assert all(p.stat().st_size > 1000 for p in pngs)
    assert not (tmp_path / "examples_output").exists()


def test_examples_found():
    assert len(EXAMPLES) >= 4
