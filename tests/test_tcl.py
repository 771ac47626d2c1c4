import copy

import numpy as np
import pytest
import sklearn
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nlica import TCL, TrainingDivergedError
from nlica.datasets import make_tcl_dataset
from nlica.metrics import mean_corr_coef

# A few steps: enough for the plumbing tests, not for recovery.
TINY = dict(n_layers=2, max_iter=30, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def small():
    return make_tcl_dataset(3, n_layers=2, n_segments=8, segment_length=64, random_state=0)


def test_recovers_abs_sources():
    data = make_tcl_dataset(3, n_layers=2, n_segments=16, segment_length=256, random_state=1)
    tcl = TCL(n_layers=2, max_iter=800, n_init=2, device="cpu", random_state=1)
    S_est = tcl.fit(data.X, segments=data.segments).transform(data.X)
    assert mean_corr_coef(data.target, S_est) >= 0.9  # Pearson vs |s|
    assert tcl.classifier_accuracy_ > 2.0 / 16
    assert len(tcl.loss_curve_) == len(tcl.history_) and tcl.n_iter_ == 800


def test_fitted_attributes_and_raw_features(small):
    tcl = TCL(**TINY).fit(small.X, segments=small.segments)
    H = tcl.transform(small.X, ica=False)
    assert H.shape == (small.X.shape[0], 3)
    assert (H >= 0).all()  # absolute-value features
    assert tcl.transform(small.X).shape == (small.X.shape[0], 3)
    assert tcl.n_components_ == 3 and tcl.n_segments_ == 8
    assert tcl.module_.classifier.out_features == 8
    assert tcl.device_ == torch.device("cpu")
    assert tcl.ica_.n_components_ == 3
    assert tcl.mean_.shape == (3,) and tcl.whitening_.shape == (3, 3)
    assert 0.0 <= tcl.classifier_accuracy_ <= 1.0
    assert tcl.score(small.X, segments=small.segments) == pytest.approx(tcl.classifier_accuracy_)
    # Segments cut by segment_length: the score cuts held-out data the same way.
    tcl2 = TCL(segment_length=64, **TINY).fit(small.X)
    assert tcl2.segment_length_ == 64 and tcl2.n_segments_ == 8
    assert 0.0 <= tcl2.score(small.X) <= 1.0


def test_segment_labels_are_classes(small):
    labels = np.array(["rest", "task"])[small.segments % 2]
    tcl = TCL(**TINY).fit(small.X, segments=labels)
    assert tcl.n_segments_ == 2
    assert tcl.segment_classes_.tolist() == ["rest", "task"]
    with pytest.raises(ValueError, match="unseen in fit"):
        tcl.score(small.X, segments=np.full(small.X.shape[0], "other"))


class _Spy(TCL):
    """Records the segment codes and runs that reach training."""

    def _prepare(self, Z, runs, generator, fit_params):
        type(self).seen = {"codes": fit_params["codes"].copy(), "runs": runs.copy()}
        return super()._prepare(Z, runs, generator, fit_params)


def test_segments_never_cross_recordings(small):
    X = small.X[:500]
    groups = np.repeat(["a", "b"], 250)
    _Spy(segment_length=160, **TINY).fit(X, groups=groups)
    codes, runs = _Spy.seen["codes"], _Spy.seen["runs"]
    for code in np.unique(codes):
        assert np.unique(runs[codes == code]).size == 1
    # 250 = 160 + 90 in each recording (a rest of half a segment or more is kept):
    # 4 segments, where one 500-sample recording gives 3.
    assert np.unique(codes).size == 4
    assert TCL(segment_length=160, **TINY).fit(X).n_segments_ == 3


def test_metadata_routing_in_pipeline(small):
    X = small.X[:500]
    groups = np.repeat([0, 1], 250)
    with sklearn.config_context(enable_metadata_routing=True):
        tcl = TCL(segment_length=160, **TINY).set_fit_request(segments=True, groups=True)
        tcl.set_score_request(segments=True, groups=True)
        pipe = make_pipeline(StandardScaler(), tcl)
        pipe.fit(X, groups=groups)
        assert pipe[-1].n_segments_ == 4  # the groups reached TCL
        segments = small.segments[:500] % 5
        pipe.fit(X, segments=segments, groups=groups)
        assert pipe[-1].n_segments_ == 5  # the segments reached TCL
        assert pipe[-1].module_.classifier.out_features == 5
        assert pipe.transform(X).shape == (500, 3)
        # Held-out scoring with routed segments (labels recur, so every fold knows them).
        blocks = (np.arange(500) // 50) % 2  # two conditions in alternating blocks
        scores = cross_val_score(tcl, X, params={"segments": blocks}, cv=3, error_score="raise")
        assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


def test_reproducible_and_global_rng_untouched(small):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    threads = torch.get_num_threads()
    a = TCL(**TINY).fit(small.X, segments=small.segments).transform(small.X)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.get_num_threads() == threads
    b = TCL(**TINY).fit(small.X, segments=small.segments).transform(small.X)
    assert np.array_equal(a, b)
    c = TCL(**{**TINY, "random_state": 1}).fit(small.X, segments=small.segments)
    assert not np.array_equal(a, c.transform(small.X))


def test_n_init_keeps_lowest_final_loss(small):
    tcl = TCL(n_init=3, **TINY).fit(small.X, segments=small.segments)
    assert tcl.history_[-1]["loss"] == tcl.loss_curve_[-1]


def test_paper_preset_architecture_and_schedule(small):
    tcl = TCL(preset="paper", n_layers=3, max_iter=60, device="cpu", random_state=0)
    tcl.fit(small.X, segments=small.segments)
    hidden = tcl.module_.encoder.hidden
    assert [layer.linear.out_features for layer in hidden] == [2 * 6, 2 * 6]  # [2n]*(L-1)
    assert tcl.n_iter_ == 60
    # Default fast preset: hidden layers of max(80, 8 * n_components) maxout units (two
    # pieces each).
    fast = TCL(n_layers=3, max_iter=5, device="cpu", random_state=0).fit(small.X)
    assert [layer.linear.out_features for layer in fast.module_.encoder.hidden] == [160, 160]
    assert TCL()._hidden_sizes(5) == [80, 80]
    assert TCL()._hidden_sizes(20) == [160, 160]


def test_network_steps_grow_below_ten_components():
    tcl = TCL()
    tcl.selected_model_ = "nonlinear"
    for n_components, steps in ((5, 16000), (9, 16000), (10, 6000), (20, 6000)):
        tcl.n_components_ = n_components
        assert tcl._setting("max_iter") == steps
    tcl.n_components_ = 5
    tcl.selected_model_ = "linear"
    assert tcl._setting("max_iter") == 6000
    tcl.selected_model_ = "nonlinear"
    assert tcl.set_params(max_iter=500)._setting("max_iter") == 500
    assert TCL(preset="paper")._setting("max_iter") == 770_000


class _InitSpy(TCL):
    """Keeps a copy of the initial weights."""

    def _build_module(self, n_features, n_components):
        module = super()._build_module(n_features, n_components)
        type(self).init = copy.deepcopy(module.state_dict())
        return module


def test_paper_preset_freezes_the_network_first(small):
    # 1100 steps: the first 100 (the paper's 7e4 of 7.7e5) train the classifier only; the
    # callback stops training at the first logging interval, step 100.
    tcl = _InitSpy(
        preset="paper",
        n_layers=2,
        max_iter=1100,
        device="cpu",
        random_state=0,
        callbacks=[lambda record: True],
    )
    config = tcl._train_config()
    assert (config.frozen_steps, config.milestones, config.ema_decay) == (100, (814,), 0.999)
    assert (config.optimizer, config.momentum, config.weight_decay) == ("sgd", 0.9, 1e-4)
    tcl.fit(small.X, segments=small.segments)
    assert tcl.n_iter_ == 100
    state = tcl.module_.state_dict()
    for name, value in _InitSpy.init.items():
        if name.startswith("encoder."):
            assert torch.equal(state[name], value), name
    assert not torch.equal(state["classifier.weight"], _InitSpy.init["classifier.weight"])
    kwargs = tcl._train_kwargs(tcl.module_)
    assert {id(p) for p in kwargs["head_params"]} == {
        id(p) for p in tcl.module_.classifier.parameters()
    }
    # Weight decay on weights, not on biases.
    assert {id(p) for p in kwargs["decay_params"]} == {
        id(p) for n, p in tcl.module_.named_parameters() if n.endswith("weight")
    }


def test_divergence_raises(small):
    tcl = TCL(preset="paper", learning_rate=1e6, **TINY)
    with pytest.raises(TrainingDivergedError, match="learning_rate"):
        tcl.fit(small.X, segments=small.segments)


def test_bad_input(small):
    X, segments = small.X, small.segments
    with pytest.raises(ValueError, match="at least 2 segments"):
        TCL(**TINY).fit(X, segments=np.zeros(X.shape[0]))
    with pytest.raises(ValueError, match="segments has 10 entries but X has 512"):
        TCL(**TINY).fit(X, segments=segments[:10])
    with pytest.raises(ValueError, match="segment_length=1000"):
        TCL(segment_length=1000, **TINY).fit(X)
    with pytest.raises(ValueError, match="batch_size=1000"):
        TCL(batch_size=1000, **TINY).fit(X)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        TCL(hidden_layer_sizes=[4, 0], **TINY).fit(X)
    with pytest.raises(NotFittedError):
        TCL().transform(X)
    with pytest.raises(NotFittedError):
        TCL().score(X, segments=segments)
    tcl = TCL(**TINY).fit(X, segments=segments)
    with pytest.raises(ValueError, match="features"):
        tcl.transform(X[:, :2])
    with pytest.raises(ValueError, match="pass the segments"):
        tcl.score(X)
    cut = TCL(segment_length=64, **TINY).fit(X)
    with pytest.raises(ValueError, match="segment"):
        cut.score(X[:256])


def test_auto_segment_length_short_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    tcl = TCL(**TINY).fit(X)
    assert tcl.segment_length_ == 2 and tcl.n_segments_ == 20
    long = make_tcl_dataset(2, n_layers=1, n_segments=20, segment_length=512, random_state=0)
    assert TCL(**{**TINY, "max_iter": 1}).fit(long.X).segment_length_ == 512


def test_float32_input(small):
    tcl = TCL(**TINY).fit(small.X.astype(np.float32), segments=small.segments)
    assert tcl.transform(small.X.astype(np.float32)).dtype == np.float32


@pytest.mark.gpu
def test_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    data = make_tcl_dataset(3, n_layers=2, n_segments=16, segment_length=256, random_state=1)
    kw = dict(n_layers=2, max_iter=800, n_init=2, random_state=1)
    cpu = TCL(device="cpu", **kw).fit(data.X, segments=data.segments)
    gpu = TCL(device="cuda", **kw).fit(data.X, segments=data.segments)
    assert gpu.device_.type == "cuda"
    mcc_cpu = mean_corr_coef(data.target, cpu.transform(data.X))
    mcc_gpu = mean_corr_coef(data.target, gpu.transform(data.X))
    assert mcc_gpu >= 0.9
    assert abs(mcc_cpu - mcc_gpu) < 0.05


def test_score_sample_weight_and_pipeline_routing():
    rng = np.random.default_rng(0)
    X = rng.laplace(size=(600, 3)) * np.repeat(rng.uniform(0.1, 1, (6, 3)), 100, axis=0)
    segments = np.repeat(np.arange(6), 100)
    tcl = TCL(max_iter=50, random_state=0, device="cpu").fit(X, segments=segments)
    w = np.zeros(600)
    w[:100] = 1.0
    first = tcl.score(X[:100], segments=segments[:100])
    assert tcl.score(X, segments=segments, sample_weight=w) == pytest.approx(first)
    with pytest.raises(ValueError, match="sample_weight"):
        tcl.score(X, segments=segments, sample_weight=np.ones(5))
    # The same check as PCL's: negative and all-zero weights are refused.
    with pytest.raises(ValueError, match="non-negative"):
        tcl.score(X, segments=segments, sample_weight=-w)
    with pytest.raises(ValueError, match="positive sum"):
        tcl.score(X, segments=segments, sample_weight=np.zeros(600))
    with sklearn.config_context(enable_metadata_routing=True):
        est = TCL(max_iter=50, random_state=0, device="cpu")
        est.set_fit_request(segments=True, groups=False)
        est.set_score_request(segments=True, groups=False, sample_weight=True)
        pipe = make_pipeline(StandardScaler(), est).fit(X, segments=segments)
        assert 0.0 <= pipe.score(X, segments=segments) <= 1.0


def _user_warnings(record):
    return [
        w
        for w in record
        if issubclass(w.category, UserWarning)
        and not issubclass(w.category, sklearn.exceptions.ConvergenceWarning)
    ]


def test_y_without_segments_warns_once(small):
    import warnings

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        tcl = TCL(**{**TINY, "max_iter": 2}).fit(small.X, small.segments)
    found = _user_warnings(record)
    assert len(found) == 1, [str(w.message) for w in found]
    assert "segments=labels" in str(found[0].message)
    assert found[0].filename == __file__
    # The labels were not used: TCL cut its own segments.
    assert tcl.segment_length_ is not None


def test_automatic_segmentation_warns_once_and_only_then(small):
    import warnings

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        tcl = TCL(**{**TINY, "max_iter": 2}).fit(small.X)
    found = _user_warnings(record)
    assert len(found) == 1
    assert f"into {tcl.n_segments_} segments of {tcl.segment_length_} samples" in str(
        found[0].message
    )
    for kwargs, fit_params in (({"segment_length": 64}, {}), ({}, {"segments": small.segments})):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            TCL(**{**TINY, "max_iter": 2, **kwargs}).fit(small.X, **fit_params)
        assert _user_warnings(record) == []


def test_linear_model_holds_out_segment_ends_and_keeps_signs():
    # Linear TCL identifies the signed sources: w_i . x + b_i = c_i s_j. Held out: the
    # last tenth of each segment, never rows between training rows.
    data = make_tcl_dataset(3, n_layers=1, n_segments=16, segment_length=250, random_state=0)
    tcl = TCL(mixing="linear", max_iter=1500, random_state=0, device="cpu")
    train_idx, test_idx = tcl._split(np.zeros(4000, dtype=int), {"codes": data.segments})
    assert test_idx.size == 16 * 25 and np.all(test_idx % 250 >= 225)
    S = tcl.fit(data.X, segments=data.segments).transform(data.X)
    assert mean_corr_coef(data.S, S) > 0.95  # signed: the magnitudes alone give far less
    assert tcl.reconstruction_r2_ > 0.9
