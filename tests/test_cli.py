import json

import pytest

from nlica.cli import main, run_demo


def test_demo_quick_writes_table_and_plot(tmp_path, capsys):
    rows = run_demo(tmp_path, quick=True)
    out = capsys.readouterr().out
    assert "MCC" in out and "FastICA" in out
    assert (tmp_path / "demo.png").stat().st_size > 1000
    saved = json.loads((tmp_path / "demo.json").read_text())
    assert saved == rows
    linear = [r for r in rows if r["method"] == "FastICA" and r["mixing"] == "linear"
              and r["sources"] == "AR(1) Laplace"]
    assert linear[0]["mcc"] > 0.99
    for r in rows:
        if r["sources"] == "nonstationary" and r["method"] == "FastICA" and r["mixing"] == "linear":
            # |FastICA| recovers |s| under linear mixing.
            assert r["mcc"] > 0.9


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "demo" in capsys.readouterr().out
