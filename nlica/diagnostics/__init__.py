"""Can I trust these components? Checks that need no ground truth.

:func:`check_assumptions` tests, on the observations alone, the assumption each estimator's
identifiability rests on; :func:`component_stability` refits an estimator on resampled
data (or with other seeds) and scores how reproducible each of its components is, in the
spirit of ICASSO (Himberg, Hyvärinen & Esposito, 2004).

Every test is a one-sided test of "the assumption fails" (the null hypothesis) against
"it holds"; a method is reported as holding when its p-value is at most ``alpha``. The
statistics are cheap (moments of whitened data, a two-dimensional FastICA, no neural
network) and their nulls are built from the data themselves (within- against
across-segment comparisons, time shuffles, Gaussian Fourier surrogates), so that they
stay valid when the mixing is nonlinear. ``benchmarks/bench_diagnostics.py`` measures
their error rates.
"""

from ._assumptions import AssumptionReport, check_assumptions
from ._stability import StabilityResult, component_stability

__all__ = [
    "AssumptionReport",
    "StabilityResult",
    "check_assumptions",
    "component_stability",
]
