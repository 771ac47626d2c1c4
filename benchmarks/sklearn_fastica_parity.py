"""Run scikit-learn's own FastICA test module against ``nlica.FastICA`` and ``nlica.fastica``.

The installed scikit-learn's ``sklearn/decomposition/tests/test_fastica.py`` is run with
pytest after ``sklearn.decomposition.FastICA`` and ``sklearn.decomposition.fastica`` are
replaced by nlica's (the test module imports them from there). Nothing of scikit-learn's test
code is copied. Prints one table: passed, failed, skipped, and the failing tests; nlica's
documented deviation is that rank-deficient data is an error (``ValueError`` naming the
rank) where scikit-learn warns.

Examples
--------
``python benchmarks/sklearn_fastica_parity.py``
``python benchmarks/sklearn_fastica_parity.py --seeds 40-42 --json results/sklearn_parity.json``
"""

import argparse
import json
import os
import sys
from pathlib import Path

import pytest
import sklearn
import sklearn.decomposition

import nlica


class _Counter:
    """A pytest plugin that records the outcome of each test's call phase."""

    def __init__(self):
        self.outcomes = {}

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.outcomes[report.nodeid.split("::", 1)[-1]] = report.outcome


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the counts and failures to this file")
    parser.add_argument(
        "--seeds", default="42", help="scikit-learn's global_random_seed values, e.g. 42 or 40-42"
    )
    parser.add_argument("-v", action="store_true", help="show pytest's own output")
    args = parser.parse_args(argv)

    # The float32 variants are skipped by scikit-learn unless asked for.
    os.environ.setdefault("SKLEARN_RUN_FLOAT32_TESTS", "1")
    os.environ["SKLEARN_TESTS_GLOBAL_RANDOM_SEED"] = args.seeds
    sklearn.decomposition.FastICA = nlica.FastICA
    sklearn.decomposition.fastica = nlica.fastica
    path = Path(sklearn.__file__).parent / "decomposition" / "tests" / "test_fastica.py"
    counter = _Counter()
    # -p no:cacheprovider: nothing is written into site-packages.
    options = [
        str(path),
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "-W",
        "ignore::DeprecationWarning",
        "-q" if args.v else "-qq",
        "--rootdir",
        str(path.parents[2]),
    ]
    if not args.v:
        options += ["--no-summary", "--tb=no"]
    stdout = sys.stdout
    if not args.v:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - restored below
    try:
        pytest.main(options, plugins=[counter])
    finally:
        if not args.v:
            sys.stdout.close()
            sys.stdout = stdout
    counts = {
        k: sum(v == k for v in counter.outcomes.values()) for k in ("passed", "failed", "skipped")
    }
    failed = sorted(k for k, v in counter.outcomes.items() if v == "failed")
    print(f"scikit-learn {sklearn.__version__} test_fastica.py against nlica {nlica.__version__}")
    print(f"{'total':>8} {'passed':>8} {'failed':>8} {'skipped':>8}")
    print(
        f"{len(counter.outcomes):>8} {counts['passed']:>8} {counts['failed']:>8} "
        f"{counts['skipped']:>8}"
    )
    for name in failed:
        print(f"  failed: {name}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps({"sklearn": sklearn.__version__, **counts, "failed": failed}, indent=2)
        )


if __name__ == "__main__":
    main()
