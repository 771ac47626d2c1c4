import pickle

import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from nlica import PCL
from nlica._training import TrainConfig
from nlica.datasets import make_iid_sources, make_mlp_mixing, make_pcl_dataset
from nlica.metrics import mean_corr_coef
from nlica.utils import stack_recordings

# A few steps: enough for the plumbing tests, not for recovery.
TINY = dict(max_iter=20, batch_size=64, device="cpu", random_state=0)
# Enough for 3 sources through 2 layers in about a second.
QUICK = dict(max_iter=600, batch_size=512, device="cpu")


@pytest.fixture(scope="module")
def small():
    return make_pcl_dataset(3, n_layers=2, n_samples=2**13, random_state=0)


def test_recovers_sources_and_fitted_attributes(small):
    pcl = PCL(random_state=0, **QUICK)
    S_est = pcl.fit_transform(small.X)
    assert mean_corr_coef(small.S, S_est) >= 0.9  # Pearson vs s, no ICA
    assert S_est.shape == (small.X.shape[0], 3) and S_est.dtype == np.float64
    assert pcl.n_components_ == 3 and pcl.n_iter_ == 600 and pcl.device_.type == "cpu"
    assert len(pcl.loss_curve_) == len(pcl.history_) == 6
    assert {"step", "loss", "accuracy", "lr", "time"} <= set(pcl.history_[-1])
    assert pcl.loss_curve_[-1] < pcl.loss_curve_[0]
    assert 0.7 < pcl.discriminator_accuracy_ <= 1.0
    assert pcl.mean_.shape == (3,) and pcl.whitening_.shape == (3, 3)
    net = pcl.module_
    assert not net.training
    assert bool((net.a >= 0).all())
    # Batch norm holds the training statistics: transform standardises the training data.
    np.testing.assert_allclose(S_est.mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(S_est.std(0), 1.0, atol=1e-3)
    # Rows are transformed independently of each other.
    np.testing.assert_allclose(pcl.transform(small.X[100:110]), S_est[100:110], atol=1e-12)


def test_discriminator_starts_as_in_the_paper():
    pcl = PCL(n_components=2)
    net = pcl._build_module(4, 2)
    assert torch.equal(net.w1, torch.ones(2)) and torch.equal(net.w2, -torch.ones(2))
    assert torch.equal(net.a, torch.zeros(2)) and net.features.norm is not None
    assert net.features.out.bias is None  # bias-free output layer before batch norm


def test_reproducible_and_global_state_untouched(small):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    threads = torch.get_num_threads()
    a = PCL(**TINY).fit(small.X).transform(small.X)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.get_num_threads() == threads
    b = PCL(**TINY).fit(small.X).transform(small.X)
    assert np.array_equal(a, b)
    c = PCL(**{**TINY, "random_state": 1}).fit(small.X).transform(small.X)
    assert not np.array_equal(a, c)


def test_iid_sources_are_not_identified():
    # Without temporal dependence real and permuted pairs look alike: the documented
    # failure mode. Same mixing, same settings; only the sources' time structure differs.
    mixing = make_mlp_mixing(3, 2, random_state=0)
    S_ar = make_pcl_dataset(3, n_layers=1, n_samples=2**13, random_state=0).S
    S_iid = make_iid_sources(3, 2**13, random_state=0)
    # The network on both (mixing="auto" would keep the linear model on the i.i.d. data,
    # whose random rotation can match 3 sources by chance).
    ar = PCL(random_state=0, mixing="nonlinear", **QUICK).fit(mixing(S_ar))
    iid = PCL(random_state=0, mixing="nonlinear", **QUICK).fit(mixing(S_iid))
    mcc_ar = mean_corr_coef(S_ar, ar.transform(mixing(S_ar)))
    mcc_iid = mean_corr_coef(S_iid, iid.transform(mixing(S_iid)))
    assert mcc_ar >= 0.9
    assert mcc_iid < mcc_ar - 0.2
    assert iid.discriminator_accuracy_ < 0.55 < ar.discriminator_accuracy_


def test_iid_sources_linear_mixing_not_identified_by_the_contrast():
    S = make_iid_sources(3, 2**12, random_state=1)
    X = S @ np.random.default_rng(1).uniform(-1, 1, size=(3, 3)).T
    # The network: no temporal dependence, nothing for the contrast to learn.
    pcl = PCL(random_state=0, mixing="nonlinear", **{**QUICK, "max_iter": 300}).fit(X)
    assert mean_corr_coef(S, pcl.transform(X)) < 0.85
    # The linear model starts from FastICA, which separates non-Gaussian iid sources by
    # itself; the contrast, blind to them, leaves that start in place.
    start = PCL(random_state=0, mixing="linear", **{**QUICK, "max_iter": 1}).fit(X)
    assert mean_corr_coef(S, start.transform(X)) > 0.95
    unseeded = PCL(random_state=0, mixing="linear", preset="paper", max_iter=1).fit(X)
    assert mean_corr_coef(S, unseeded.transform(X)) < 0.85


def test_groups_keep_pairs_within_recordings(small):
    # Two recordings stacked: a fit with groups trains, and the sampler never pairs samples
    # across the boundary (checked in tests/test_samplers.py); here the plumbing.
    X, groups = stack_recordings([small.X[:4000], small.X[4000:]])
    pcl = PCL(**TINY).fit(X, groups=groups)
    assert 0.0 <= pcl.score(X, groups=groups) <= 1.0
    # Shuffling the recordings' order changes nothing about the pairs available.
    assert pcl.transform(X).shape == (X.shape[0], 3)


def test_score_is_deterministic_and_tracks_training(small):
    pcl = PCL(random_state=0, **QUICK).fit(small.X[:6000])
    held_out = small.X[6000:]
    s1, s2 = pcl.score(held_out), pcl.score(held_out)
    assert s1 == s2 and 0.7 < s1 <= 1.0
    assert abs(pcl.score(small.X[:6000]) - pcl.discriminator_accuracy_) < 1e-12
    untrained = PCL(**{**TINY, "max_iter": 1}).fit(small.X[:6000])
    assert untrained.score(held_out) < s1


def test_score_sample_weight(small):
    pcl = PCL(**TINY).fit(small.X)
    X = small.X[:3000]
    assert pcl.score(X, sample_weight=np.ones(3000)) == pytest.approx(pcl.score(X))
    w = np.r_[np.ones(1500), np.zeros(1500)]
    assert pcl.score(X, sample_weight=w) != pcl.score(X)
    with pytest.raises(ValueError, match="sample_weight must be 3000"):
        pcl.score(X, sample_weight=np.ones(5))
    with pytest.raises(ValueError, match="sample_weight"):
        pcl.score(X, sample_weight=-np.ones(3000))


def test_grid_search_and_pipeline_with_routed_groups(small):
    X = small.X[:2000]
    search = GridSearchCV(PCL(**TINY), {"lag": [1, 2]}, cv=KFold(2), error_score="raise")
    search.fit(X)
    assert search.best_params_["lag"] in (1, 2)
    groups = np.repeat([0, 1], 1000)
    with sklearn.config_context(enable_metadata_routing=True):
        pcl = PCL(**TINY).set_fit_request(groups=True).set_score_request(groups=True)
        pipe = make_pipeline(StandardScaler(), pcl).fit(X, groups=groups)
        assert pipe.transform(X).shape == (2000, 3)
        pcl.set_score_request(sample_weight=True)
        assert 0.0 <= pipe.score(X, groups=groups) <= 1.0  # Pipeline.score forwards weights
        scores = cross_val_score(
            pcl, X, params={"groups": groups}, cv=KFold(2), error_score="raise"
        )
        assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


def test_too_few_pairs_is_a_clear_error():
    X = np.random.default_rng(0).normal(size=(3, 2))
    with pytest.raises(ValueError, match=r"X has 3 samples.*lag=3"):
        PCL(lag=3, **TINY).fit(X)
    X = np.random.default_rng(0).normal(size=(50, 2))
    groups = np.r_[np.zeros(48), [1, 2]]
    with pytest.raises(ValueError, match=r"groups: recording piece 1 has 1 sample.*lag=1"):
        PCL(**TINY).fit(X, groups=groups)
    pcl = PCL(**TINY).fit(X)
    with pytest.raises(ValueError, match="lag=1"):
        pcl.score(X[:1])
    # A recording of lag + 1 samples has one pair: enough.
    PCL(lag=2, **TINY).fit(X[:3])


def test_bad_parameters():
    X = np.random.default_rng(0).normal(size=(50, 2))
    for params in (
        {"lag": 0},
        {"preset": "slow"},
        {"n_layers": 0},
        {"learning_rate": 0.0},
        {"batch_size": 0},
        {"n_init": 0},
    ):
        with pytest.raises(InvalidParameterError):
            PCL(**params).fit(X)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        PCL(hidden_layer_sizes=[4, 0], **TINY).fit(X)


def test_hidden_layer_sizes_and_n_components(small):
    pcl = PCL(n_components=2, hidden_layer_sizes=[7], mixing="nonlinear", **TINY).fit(small.X)
    assert [h.linear.out_features for h in pcl.module_.features.hidden] == [14]
    assert pcl.transform(small.X).shape == (small.X.shape[0], 2)
    # The fast preset's rule: max(80, 4 * n_components) units per hidden layer.
    assert PCL(n_layers=3)._hidden_sizes(5) == [80, 80, 80]
    assert PCL()._hidden_sizes(30) == [120, 120]


def test_paper_preset_architecture_and_schedule(small):
    pcl = PCL(preset="paper", n_layers=3, max_iter=60)
    config = pcl._train_config()
    assert isinstance(config, TrainConfig)
    assert (config.optimizer, config.learning_rate, config.momentum) == ("sgd", 0.1, 0.9)
    assert config.weight_decay == 1e-5 and config.ema_decay == 0.999
    assert config.schedule == "step" and config.milestones == (20, 40)
    assert pcl._hidden_sizes(5) == [10, 10, 5]
    full = PCL(preset="paper")._train_config()
    assert full.max_iter == 3_000_000 and full.milestones == (1_000_000, 2_000_000)
    assert PCL(preset="paper")._setting("batch_size") == 512
    fitted = pcl.set_params(device="cpu", random_state=0).fit(small.X)
    assert fitted.n_iter_ == 60 and bool((fitted.module_.a >= 0).all())


def test_automatic_restarts_only_for_degenerate_features(small):
    steps = []
    pcl = PCL(
        random_state=0, callbacks=[lambda r: steps.append(r["step"])], mixing="nonlinear", **QUICK
    )
    pcl.fit(small.X)
    assert steps.count(100) == 1  # good features: no restart
    Z = torch.tensor((small.X - pcl.mean_) @ pcl.whitening_.T, dtype=torch.float32)
    assert not pcl._restart_after(pcl.module_, Z)
    # Two features tracking the same source: the local optimum that triggers a restart.
    with torch.no_grad():
        pcl.module_.features.out.weight[1] = pcl.module_.features.out.weight[0]
    assert pcl._restart_after(pcl.module_, Z)
    assert pcl._n_init() == 2
    assert PCL(n_init=2)._n_init() == 2 and PCL(n_init=2)._restart_after(None, None)
    # The same degenerate features never restart the linear model, nor a network with
    # spare features.
    pcl.selected_model_ = "linear"
    assert not pcl._restart_after(pcl.module_, Z)
    pcl.selected_model_ = "nonlinear"
    pcl.n_components_ = 10
    assert not pcl._restart_after(pcl.module_, Z)


def test_steps_grow_with_components_for_the_network_only():
    pcl = PCL(n_components=20)
    pcl.n_components_ = 20
    pcl.selected_model_ = "nonlinear"
    assert pcl._setting("max_iter") == 16000
    pcl.n_components_ = 5
    assert pcl._setting("max_iter") == 16000
    pcl.n_components_ = 2
    assert pcl._setting("max_iter") == 8000
    pcl.n_components_ = 20
    pcl.selected_model_ = "linear"
    assert pcl._setting("max_iter") == 8000
    pcl.set_params(max_iter=500)
    assert pcl._setting("max_iter") == 500


def test_early_stopping_callbacks_and_n_init(small):
    seen = []
    pcl = PCL(
        max_iter=1000,
        mixing="nonlinear",
        callbacks=[lambda r: seen.append(r) or r["step"] >= 200],
        **{k: v for k, v in TINY.items() if k != "max_iter"},
    ).fit(small.X)
    assert pcl.n_iter_ == 200 and len(seen) == 2
    pcl = PCL(n_init=2, **TINY).fit(small.X)
    assert pcl.loss_curve_[-1] == pcl.history_[-1]["loss"]


def test_pickle_roundtrip(small):
    pcl = PCL(**TINY).fit(small.X)
    again = pickle.loads(pickle.dumps(pcl))
    np.testing.assert_array_equal(again.transform(small.X), pcl.transform(small.X))
    assert again.score(small.X) == pcl.score(small.X)


@pytest.mark.gpu
def test_cuda_fit_recovers_and_loads_on_cpu(small):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    # Twice QUICK's steps: at 600 a fit can stop on a plateau near MCC 0.91 on one device
    # and not the other (seen on an H200 machine), which is no device difference.
    converged = {**QUICK, "max_iter": 1200}
    pcl = PCL(random_state=0, **{**converged, "device": "cuda"}).fit(small.X)
    assert pcl.device_.type == "cuda"
    assert next(pcl.module_.parameters()).device.type == "cuda"
    S_est = pcl.transform(small.X)
    assert mean_corr_coef(small.S, S_est) >= 0.9
    cpu = PCL(random_state=0, **converged).fit(small.X)
    assert (
        abs(mean_corr_coef(small.S, cpu.transform(small.X)) - mean_corr_coef(small.S, S_est)) < 0.05
    )
    state = pickle.dumps(pcl)
    again = pickle.loads(state)
    np.testing.assert_allclose(again.transform(small.X), S_est, atol=1e-5)


def test_infonce_contrast_recovers_and_calibrates_the_offset(small):
    # The softmax task trains the features; the offset m is fitted on the side, so the
    # logistic pair accuracy (score, discriminator_accuracy_) stays meaningful.
    pcl = PCL(contrast="infonce", random_state=0, **QUICK)
    S_est = pcl.fit_transform(small.X)
    assert mean_corr_coef(small.S, S_est) >= 0.9
    assert 0.7 < pcl.discriminator_accuracy_ <= 1.0
    assert 0.7 < pcl.score(small.X) <= 1.0
    # Not the logistic fit under another name.
    logistic = PCL(random_state=0, **QUICK).fit(small.X)
    assert not np.allclose(logistic.transform(small.X), S_est)


@pytest.mark.parametrize(
    ("n_components", "mixing", "contrast", "expected"),
    [
        (10, "nonlinear", "auto", "infonce"),
        (10, "linear", "auto", "infonce"),
        (9, "nonlinear", "auto", "logistic"),
        (9, "linear", "infonce", "infonce"),
        (10, "nonlinear", "logistic", "logistic"),
    ],
)
def test_auto_contrast_resolves_by_components(n_components, mixing, contrast, expected):
    X = np.random.default_rng(0).laplace(size=(1200, 10))
    pcl = PCL(
        n_components=n_components, mixing=mixing, contrast=contrast, max_iter=3, random_state=0
    ).fit(X)
    assert pcl.contrast_ == expected
    assert pcl.contrast == contrast  # the parameter is left as given


def test_auto_contrast_trains_like_the_task_it_resolves_to():
    X = np.random.default_rng(1).laplace(size=(2000, 10))
    params = dict(n_components=10, mixing="nonlinear", max_iter=20, random_state=0)
    auto = PCL(**params).fit(X).transform(X)
    np.testing.assert_array_equal(auto, PCL(contrast="infonce", **params).fit(X).transform(X))
    assert not np.allclose(auto, PCL(contrast="logistic", **params).fit(X).transform(X))


def test_infonce_loss_picks_the_real_partner():
    from nlica.losses import pcl_infonce_loss

    torch.manual_seed(0)
    h = torch.randn(64, 3)
    one, zero = torch.ones(3), torch.zeros(3)
    m = torch.zeros((), requires_grad=True)
    # Real partners equal to the current samples: every row's own partner wins.
    loss, acc = pcl_infonce_loss(h, h, one, -one, zero, zero, m, 16)
    assert float(acc) == 1.0
    # Shuffled partners: near chance (1/16), and a larger loss.
    loss_shuffled, acc_shuffled = pcl_infonce_loss(
        h, h[torch.randperm(64)], one, -one, zero, zero, m, 16
    )
    assert float(acc_shuffled) < 0.3 and float(loss_shuffled) > float(loss)
    # Only the offset's logistic term reaches m.
    loss.backward()
    assert m.grad is not None and float(m.grad) != 0.0


def test_drop_dependent_keeps_the_independent_features():
    from nlica._pcl import _drop_dependent, _pair_dependence

    rng = np.random.default_rng(0)
    S = rng.laplace(size=(8000, 6))
    # A copy of one feature (with noise) and a function of every feature at once: the two
    # features that independent sources cannot give.
    H = np.column_stack([S, S[:, 2] + 0.3 * rng.normal(size=8000), np.abs(S).sum(1)])
    H = torch.as_tensor(H[:, rng.permutation(8)])
    keep = _drop_dependent(H, 6)
    kept = H[:, keep].numpy()
    assert mean_corr_coef(S, kept) > 0.97
    D = _pair_dependence(H).numpy()
    assert D.shape == (8, 8) and np.allclose(D, D.T) and np.all(np.diag(D) == 0)
    assert D[np.ix_(keep, keep)].max() < 0.1  # what is left is independent


def test_spare_features_are_trained_and_left_out_of_transform(small, monkeypatch):
    import nlica._pcl as pcl_module
    from nlica._pcl import _pair_dependence

    monkeypatch.setattr(pcl_module, "_SPARE_FROM", 3)
    monkeypatch.setattr(pcl_module, "_SPARE_PER", 2)  # 3 components -> 2 spares
    built = []
    original = PCL._build_module

    def build(self, n_features, n_components):
        net = original(self, n_features, n_components)
        built.append(net.w1.numel())
        return net

    monkeypatch.setattr(PCL, "_build_module", build)
    pcl = PCL(random_state=0, mixing="nonlinear", n_init=1, **QUICK).fit(small.X)
    assert built == [5]
    # The spares stay in the network (and in r, which score uses), last.
    assert pcl.module_.w1.shape == (5,)
    H = pcl._encode64(small.X).cpu().numpy()
    S_est = pcl.transform(small.X)
    assert S_est.shape == (small.X.shape[0], 3)
    np.testing.assert_array_equal(S_est, H[:, :3])
    assert mean_corr_coef(small.S, S_est) >= 0.9
    # The most dependent feature of all is one of those not returned.
    assert int(_pair_dependence(torch.as_tensor(H)).square().sum(1).argmax()) >= 3
    # The decoder maps the returned features back: inverse_transform works.
    assert pcl.inverse_transform(S_est).shape == small.X.shape
    assert pcl.discriminator_accuracy_ > 0.7
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(pcl)).transform(small.X), S_est)


def test_spare_features_only_for_the_fast_nonlinear_network():
    pcl = PCL(n_components=20)
    pcl.selected_model_ = "nonlinear"
    assert pcl._n_spare(20) == 2 and pcl._n_spare(10) == 1 and pcl._n_spare(9) == 0
    pcl.selected_model_ = "linear"
    assert pcl._n_spare(20) == 0
    pcl = PCL(n_components=20, preset="paper")
    assert pcl._n_spare(20) == 0
