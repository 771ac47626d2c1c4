"""nlica.diagnostics: assumption checks and component stability, plus the scores they use."""

import json
import warnings

import numpy as np
import pytest
from joblib import parallel_config
from scipy.signal import lfilter
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import GridSearchCV

from nlica import PCL, TCL, FastICA, SlowVAE
from nlica.datasets import (
    make_ar_sources,
    make_mlp_mixing,
    make_nonstationary_sources,
    make_pcl_dataset,
    make_slowvae_dataset,
    make_tcl_dataset,
)
from nlica.diagnostics import (
    AssumptionReport,
    StabilityResult,
    check_assumptions,
    component_stability,
)

N = 4096
PERM = 49


def _std(S):
    return (S - S.mean(0)) / S.std(0)


def _mlp(S, seed=0):
    return make_mlp_mixing(S.shape[1], 2, random_state=seed)(S)


def _gaussian_walk(n, k, rng):
    decay = np.sqrt(1 - 2 / 36)  # SlowVAE's rate-6 decay, with Gaussian steps
    e = rng.normal(scale=np.sqrt(1 - decay**2), size=(n, k))
    e[0] = rng.normal(size=k)
    return _std(lfilter([1.0], [1.0, -decay], e, axis=0))


def _verdict(X, method, **kw):
    return check_assumptions(X, methods=(method,), n_permutations=PERM, random_state=0, **kw).holds[
        method
    ]


# ------------------------------------------------------------------------ check_assumptions
def test_fastica_verdicts():
    rng = np.random.default_rng(0)
    laplace = _std(rng.laplace(size=(N, 4)))
    A = rng.normal(size=(4, 4))
    assert _verdict(laplace @ A.T, "fastica")
    # Linear ICA cannot identify a nonlinear mixing: the linearity part must see it, for
    # Laplace sources and for two Gaussian ones (whose linear components look non-Gaussian).
    assert not _verdict(_mlp(laplace), "fastica")
    two_gauss_mlp = _std(np.column_stack([rng.laplace(size=(N, 3)), rng.normal(size=(N, 2))]))
    assert not _verdict(_mlp(two_gauss_mlp), "fastica")
    two_gauss = _std(np.column_stack([rng.laplace(size=(N, 2)), rng.normal(size=(N, 2))]))
    assert not _verdict(two_gauss @ A.T, "fastica")
    one_gauss = _std(np.column_stack([rng.laplace(size=(N, 3)), rng.normal(size=(N, 1))]))
    assert _verdict(one_gauss @ A.T, "fastica")


def test_tcl_verdicts():
    data = make_tcl_dataset(4, n_layers=2, n_segments=16, segment_length=256, random_state=0)
    assert _verdict(data.X, "tcl", segments=data.segments)
    stationary = _mlp(make_ar_sources(4, 16 * 256, random_state=0))
    assert not _verdict(stationary, "tcl", segments=data.segments)
    # Without segments, the data are cut as TCL cuts them (16 segments of 256 here).
    report = check_assumptions(data.X, methods=("tcl",), random_state=0)
    assert report.holds["tcl"] and "segments of 256" in report.details["tcl"]


def test_pcl_verdicts():
    data = make_pcl_dataset(4, n_layers=2, n_samples=N, random_state=0)
    assert _verdict(data.X, "pcl")
    iid = _mlp(_std(np.random.default_rng(1).laplace(size=(N, 4))))
    assert not _verdict(iid, "pcl")
    # Dependence at lag 2 only (two interleaved AR processes) is seen at lag=2.
    S = make_ar_sources(4, N, rho=0.9, random_state=2)
    inter = np.empty_like(S)
    inter[0::2], inter[1::2] = S[: N // 2], S[N // 2 :]
    assert _verdict(_mlp(inter), "pcl", lag=2)


def test_slowvae_verdicts():
    data = make_slowvae_dataset(4, n_layers=2, n_samples=N, random_state=0)
    assert _verdict(data.X, "slowvae")
    rng = np.random.default_rng(0)
    gaussian_steps = _mlp(_gaussian_walk(N, 4, rng))
    report = check_assumptions(
        gaussian_steps, methods=("slowvae", "pcl"), n_permutations=PERM, random_state=0
    )
    # Slow and dependent, but the transitions are Gaussian: SlowVAE's assumption fails.
    assert report.holds == {"slowvae": False, "pcl": True}
    assert not _verdict(_mlp(_std(rng.laplace(size=(N, 4)))), "slowvae")


def test_groups_keep_pairs_within_recordings():
    # Two recordings of i.i.d. data with a jump between them: no dependence within either.
    rng = np.random.default_rng(3)
    X = np.vstack([rng.laplace(size=(N // 2, 3)), 5 + rng.laplace(size=(N // 2, 3))])
    groups = np.repeat([0, 1], N // 2)
    assert not _verdict(X, "pcl", groups=groups)


def test_report_contents():
    data = make_pcl_dataset(3, n_layers=1, n_samples=N, random_state=0)
    report = check_assumptions(data.X, n_permutations=PERM, random_state=0)
    assert isinstance(report, AssumptionReport)
    assert list(report.holds) == ["fastica", "tcl", "pcl", "slowvae"]
    assert set(report.recommended) == {m for m, h in report.holds.items() if h}
    assert "pcl" in report.recommended and "tcl" not in report.recommended
    strengths = [report.strength[m] for m in report.recommended]
    assert strengths == sorted(strengths, reverse=True)
    for m, p in report.p_values.items():
        assert 0 < p <= 1 and report.holds[m] == (p <= 0.05)
    d = json.loads(json.dumps(report.to_dict()))
    assert d["holds"] == report.holds and d["recommended"] == report.recommended
    text = str(report)
    assert all(m in text for m in report.holds) and "recommended" in text


def test_reproducible_and_input_untouched():
    X = make_pcl_dataset(3, n_samples=2048, random_state=0).X
    X0 = X.copy()
    a = check_assumptions(X, n_permutations=19, random_state=5)
    b = check_assumptions(X, n_permutations=19, random_state=5)
    assert a.p_values == b.p_values
    np.testing.assert_array_equal(X, X0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(methods=("ica",)), "methods"),
        (dict(methods=()), "methods"),
        (dict(lag=0), "lag"),
        (dict(lag=5000), "lag"),
        (dict(n_permutations=0), "n_permutations"),
        (dict(alpha=1.5), "alpha"),
        (dict(segments=np.zeros(10)), "segments"),
        (dict(groups=np.zeros(3)), "groups"),
    ],
)
def test_bad_arguments(kwargs, match):
    X = np.random.default_rng(0).normal(size=(512, 3))
    with pytest.raises(ValueError, match=match):
        check_assumptions(X, **kwargs)


def test_bad_data():
    with pytest.raises(ValueError, match="2 features"):
        check_assumptions(np.random.default_rng(0).normal(size=(100, 1)))
    with pytest.raises(ValueError, match="one label"):
        check_assumptions(
            np.random.default_rng(0).normal(size=(100, 2)), methods="tcl", segments=np.zeros(100)
        )


# ---------------------------------------------------------------------- component_stability
def _laplace_and_gaussians(seed, n=4096):
    rng = np.random.default_rng(seed)
    S = _std(np.column_stack([rng.laplace(size=(n, 3)), rng.normal(size=(n, 2))]))
    return S, S @ rng.uniform(-1, 1, size=(5, 5)).T


def _which_source(S, S_est):
    k = S.shape[1]
    return np.abs(np.corrcoef(S, S_est, rowvar=False)[:k, k:]).argmax(axis=0)


@pytest.mark.parametrize("resample, n", [("bootstrap", 2**14), ("split", 4096)])
def test_stability_separates_identifiable_components(resample, n):
    S, X = _laplace_and_gaussians(0, n=n)
    result = component_stability(
        FastICA(n_components=5, random_state=0), X, n_runs=8, resample=resample, random_state=0
    )
    assert isinstance(result, StabilityResult)
    source = _which_source(S, result.estimator.transform(X))
    laplace, gauss = result.stability[source < 3], result.stability[source >= 3]
    assert laplace.size == 3 and laplace.min() >= 0.85
    assert gauss.max() <= 0.7
    # The fit on all data is a plain fit; the consensus components track it.
    plain = FastICA(n_components=5, random_state=0).fit(X)
    np.testing.assert_allclose(result.estimator.components_, plain.components_)
    assert result.consensus.shape == X.shape
    r = np.corrcoef(result.consensus, result.estimator.transform(X), rowvar=False)
    assert np.all(np.diag(r[:5, 5:])[source < 3] > 0.98)
    n_est = 9 * 5
    assert result.similarity.shape == (n_est, n_est) and result.labels.shape == (n_est,)
    assert np.all(np.bincount(result.labels) == 9)
    assert "stability" in str(result)


def test_stability_flags_a_component_that_blends_in_a_few_runs():
    # Two sources; in the runs listed in `blended` the estimates are rotated by 40 degrees,
    # so there the two components blend. A mean over all pairs of runs (ICASSO's index)
    # still scores about 0.7; a component must be found distinctly in nearly every pair.
    from nlica.diagnostics._stability import _cluster_scores

    S = np.random.default_rng(0).laplace(size=(4000, 2))
    S = (S - S.mean(axis=0)) / S.std(axis=0)

    def scores(blended, n_fits=11):
        angles = np.where(np.isin(np.arange(n_fits), blended), np.deg2rad(40.0), 0.0)
        rot = [np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) for a in angles]
        E = np.hstack([S @ R.T for R in rot])
        C = np.abs(np.corrcoef(E, rowvar=False))
        labels = np.tile([0, 1], n_fits)
        return _cluster_scores(C, labels, 2, ~np.eye(n_fits, dtype=bool))

    clean, centre = scores([])
    assert np.all(clean > 0.95) and set(centre % 2) == {0, 1}
    blended, _ = scores([3, 7])
    assert np.all(blended < 0.3)


def test_stability_seed_mode_and_jobs():
    rng = np.random.default_rng(1)
    X = rng.laplace(size=(2000, 3)) @ rng.normal(size=(3, 3))
    a = component_stability(FastICA(random_state=0), X, n_runs=3, resample="seed", random_state=0)
    assert a.resample == "seed" and np.all(a.stability > 0.95)
    b = component_stability(FastICA(random_state=0), X, n_runs=3, random_state=0)
    with parallel_config(backend="threading"):  # no process start-up in the unit suite
        c = component_stability(FastICA(random_state=0), X, n_runs=3, random_state=0, n_jobs=2)
    np.testing.assert_allclose(b.stability, c.stability)


class _Recorder(TransformerMixin, BaseEstimator):
    """Records what fit receives; transform returns the first two columns."""

    calls = []

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y=None, *, segments=None, groups=None):
        _Recorder.calls.append((X.copy(), segments, groups))
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return X[:, :2]


def test_fit_params_are_resampled_in_blocks():
    _Recorder.calls = []
    n = 640
    X = np.column_stack([np.arange(n), np.arange(n) % 7, np.zeros(n)]).astype(float)
    segments = np.repeat(np.arange(10), 64)
    component_stability(_Recorder(), X, n_runs=3, random_state=0, segments=segments)
    full, *runs = _Recorder.calls
    assert full[1] is segments and full[2] is None
    for Xr, seg, grp in runs:
        t = Xr[:, 0].astype(int)
        np.testing.assert_array_equal(seg, segments[t])  # labels travel with their rows
        same = grp[1:] == grp[:-1]
        assert np.all(np.diff(t)[same] == 1)  # a block is contiguous in time
        assert np.all(np.bincount(grp) % 64 == 0)  # whole segments are drawn
    with pytest.raises(TypeError, match="does not take"):
        component_stability(FastICA(), X, groups=np.zeros(n))


def test_stability_neural_estimators_run(one_torch_thread):
    data = make_pcl_dataset(2, n_layers=1, n_samples=1024, random_state=0)
    groups = np.repeat([0, 1], 512)
    result = component_stability(
        PCL(max_iter=40, device="cpu"), data.X, n_runs=2, random_state=0, groups=groups
    )
    assert result.method == "spearman" and result.stability.shape == (2,)
    assert np.all((result.stability >= 0) & (result.stability <= 1))
    tcl_data = make_tcl_dataset(2, n_layers=1, n_segments=4, segment_length=128, random_state=0)
    result = component_stability(
        TCL(max_iter=20, device="cpu"),
        tcl_data.X,
        n_runs=2,
        random_state=0,
        segments=tcl_data.segments,
    )
    assert result.consensus.shape == (512, 2)
    result = component_stability(
        SlowVAE(n_components=2, max_iter=20, device="cpu"),
        data.X,
        n_runs=2,
        resample="split",
        random_state=0,
        groups=groups,
    )
    assert result.stability.shape == (2,) and result.resample == "split"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_runs=1), ValueError, "n_runs"),
        (dict(resample="jackknife"), ValueError, "resample"),
        (dict(resample="split", n_runs=3), ValueError, "even"),
    ],
)
def test_stability_bad_arguments(kwargs, error, match):
    X = np.random.default_rng(0).laplace(size=(200, 2))
    with pytest.raises(error, match=match):
        component_stability(FastICA(), X, **kwargs)
    with pytest.raises(TypeError, match="fit and transform"):
        component_stability(object(), X)


def test_plot_stability():
    pytest.importorskip("matplotlib")
    from nlica.plotting import plot_stability

    S, X = _laplace_and_gaussians(2, n=1000)
    result = component_stability(FastICA(random_state=0), X, n_runs=3, random_state=0)
    axes = plot_stability(result)
    assert len(axes[0].patches) == 5 and axes[1].images


# ----------------------------------------------------------------------------- scores
def test_fastica_score_is_a_density():
    # exp(score_samples) integrates to one over the plane, with and without a dropped
    # direction, for each contrast.
    rng = np.random.default_rng(0)
    X = rng.laplace(size=(3000, 2)) @ np.array([[1.0, 0.5], [0.2, 1.5]])
    g = np.linspace(-30, 30, 601)
    grid = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    cell = (g[1] - g[0]) ** 2
    for kw in (
        dict(fun="logcosh"),
        dict(fun="exp"),
        dict(fun="cube"),
        dict(n_components=1),
        dict(whiten="arbitrary-variance"),
    ):
        ica = FastICA(random_state=0, **kw).fit(X)
        mass = np.exp(ica.score_samples(grid)).sum() * cell
        assert mass == pytest.approx(1.0, abs=0.01), kw


def test_fastica_score_selects_models():
    rng = np.random.default_rng(0)
    S = rng.laplace(size=(6000, 3))
    X = S @ rng.normal(size=(3, 3)).T
    train, test = X[:3000], X[3000:]
    scores = {
        fun: FastICA(fun=fun, random_state=0).fit(train).score(test) for fun in ("logcosh", "cube")
    }
    assert scores["logcosh"] > scores["cube"]  # Laplace sources are super-Gaussian
    search = GridSearchCV(FastICA(random_state=0), {"n_components": [1, 2, 3]}, cv=2)
    assert search.fit(X).best_params_ == {"n_components": 3}
    with pytest.raises(ValueError, match="callable"):
        FastICA(fun=lambda x: (np.tanh(x), (1 - np.tanh(x) ** 2).mean(-1)), random_state=0).fit(
            train
        ).score(test)


def test_tcl_score_warns_on_segments_it_never_saw(one_torch_thread):
    S, segments = make_nonstationary_sources(3, n_segments=8, segment_length=512, random_state=0)
    mixing = make_mlp_mixing(3, 1, random_state=0)
    X = mixing(S)
    # Fit on the even samples, cut into segments of 256: the 8 true segments.
    tcl = TCL(n_layers=1, segment_length=256, max_iter=300, device="cpu", random_state=0).fit(
        X[0::2]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Held-out samples from within the training segments: no warning, above chance.
        assert tcl.score(X[1::2]) > 0.25
        assert tcl.score(X[1::2], segments=segments[1::2]) > 0.25
    S_new, _ = make_nonstationary_sources(3, n_segments=8, segment_length=256, random_state=1)
    with pytest.warns(UserWarning, match="near chance.*segment_length_"):
        tcl.score(mixing(S_new))
    with pytest.raises(ValueError, match="unseen in fit"):
        tcl.score(X[1::2], segments=segments[1::2] + 100)
