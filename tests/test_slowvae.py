import math

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from nlica import SlowVAE, TrainingDivergedError
from nlica.datasets import make_slowvae_dataset
from nlica.losses import laplace_kl, normal_kl
from nlica.metrics import mean_corr_coef
from nlica.nn.vae import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, SlowVAEModule

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tiny(**kw):
    params = dict(max_iter=5, batch_size=16, hidden_layer_sizes=(8,), random_state=0, device="cpu")
    params.update(kw)
    return SlowVAE(**params)


# ------------------------------------------------------------------------------ losses
@pytest.mark.parametrize(
    "mu,sigma,loc,rate",
    [
        (0.0, 1.0, 0.0, 1.0),
        (0.3, 0.2, -0.1, 6.0),
        (-1.0, 0.05, 0.5, 6.0),
        (2.0, 1.5, 0.0, 0.5),
    ],
)
def test_laplace_kl_matches_monte_carlo(mu, sigma, loc, rate):
    g = torch.Generator().manual_seed(0)
    z = mu + sigma * torch.randn(400_000, generator=g, dtype=torch.float64)
    log_q = -0.5 * ((z - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)
    log_p = math.log(rate / 2) - rate * (z - loc).abs()
    mc = float((log_q - log_p).mean())
    t = lambda v: torch.tensor([[v]], dtype=torch.float64)  # noqa: E731
    kl = float(laplace_kl(t(mu), t(2 * math.log(sigma)), t(loc), rate))
    assert kl == pytest.approx(mc, abs=5e-3 * max(1.0, abs(mc)))


def test_full_covariance_kls_match_monte_carlo():
    # Full Sigma = L L^T: per-latent terms with marginal variances sum to the joint KL.
    L = torch.tensor([[0.3, 0.0], [0.2, 0.1]], dtype=torch.float64)
    mu = torch.tensor([[0.4, -0.2]], dtype=torch.float64)
    loc = torch.tensor([[0.1, 0.1]], dtype=torch.float64)
    logvar = torch.log(torch.diagonal(L) ** 2)[None]
    marg = (L**2).sum(1)[None]
    g = torch.Generator().manual_seed(1)
    eps = torch.randn(400_000, 2, generator=g, dtype=torch.float64)
    z = mu + eps @ L.T
    q = torch.distributions.MultivariateNormal(mu[0], scale_tril=L)
    log_q = q.log_prob(z)
    lap = (math.log(3.0) - 6.0 * (z - loc).abs()).sum(1)
    std = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    assert float(laplace_kl(mu, logvar, loc, 6.0, marg).sum()) == pytest.approx(
        float((log_q - lap).mean()), abs=5e-3
    )
    assert float(normal_kl(mu, logvar, marg).sum()) == pytest.approx(
        float((log_q - std).mean()), abs=5e-3
    )


def test_normal_kl_closed_form():
    mu = torch.tensor([[0.5]])
    logvar = torch.tensor([[math.log(0.25)]])
    expected = float(
        torch.distributions.kl_divergence(
            torch.distributions.Normal(0.5, 0.5), torch.distributions.Normal(0.0, 1.0)
        )
    )
    assert float(normal_kl(mu, logvar)) == pytest.approx(expected, rel=1e-6)


# ----------------------------------------------------------------------------- modules
def test_conv_networks_shapes_and_paper_size():
    for size in (8, 16, 32, 64):
        enc, dec = ConvEncoder((1, size, size), 4), ConvDecoder((1, size, size), 4)
        mu, logvar = enc.encode(torch.zeros(2, size * size))
        assert mu.shape == logvar.shape == (2, 4)
        assert dec(mu).shape == (2, size * size)
    convs = [m for m in ConvEncoder((1, 64, 64), 10).modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64, 256]
    with pytest.raises(ValueError, match="image_shape"):
        ConvEncoder((1, 20, 20), 3)


def test_full_covariance_sample_matches_cholesky():
    module = SlowVAEModule(MLPEncoder(3, [8], 3, full_covariance=True), MLPDecoder(3, [8], 3), 3)
    x = torch.randn(5, 3)
    eps = torch.randn(5, 3)
    mu, logvar, marg, z = module.encode_sample(x, eps)
    _, _, lower = module.encoder.encode_full(x)
    L = torch.diag_embed(torch.exp(0.5 * logvar))
    r, c = torch.tril_indices(3, 3, -1)
    L[:, r, c] = lower
    torch.testing.assert_close(z, mu + (L @ eps[..., None])[..., 0])
    torch.testing.assert_close(marg, (L @ L.transpose(1, 2)).diagonal(dim1=1, dim2=2))


# --------------------------------------------------------------------------- estimator
def test_recovers_sources_one_layer():
    data = make_slowvae_dataset(3, n_layers=1, n_samples=4000, random_state=0)
    vae = SlowVAE(max_iter=1000, hidden_layer_sizes=(32, 32), random_state=0, device="cpu").fit(
        data.X
    )
    S_hat = vae.transform(data.X)
    assert S_hat.shape == (4000, 3)
    assert mean_corr_coef(data.S, S_hat, method="spearman") >= 0.9


def test_reproducible_and_api():
    data = make_slowvae_dataset(2, n_samples=600, n_groups=3, random_state=1)
    a = _tiny(max_iter=30).fit(data.X, groups=data.groups)
    b = _tiny(max_iter=30).fit(data.X, groups=data.groups)
    np.testing.assert_array_equal(a.transform(data.X), b.transform(data.X))
    assert a.loss_curve_ == b.loss_curve_
    assert {"recon", "kl_normal", "kl_laplace"} <= set(a.history_[-1])
    X_hat = a.inverse_transform(a.transform(data.X))
    assert X_hat.shape == data.X.shape
    X_new, Z = a.sample(7, random_state=0)
    assert X_new.shape == (7, 2) and Z.shape == (7, 2)
    assert np.isfinite(a.score(data.X, groups=data.groups))
    assert a.score(data.X) == a.score(data.X)
    assert a.transform(data.X.astype(np.float32)).dtype == np.float32


def test_inverse_transform_reads_out_by_least_squares(tmp_path):
    # The ELBO-trained decoder shrinks what it decodes from posterior means (R² 0.97 here,
    # 0.86 on the EEG); the least-squares read-out reconstructs the linear model exactly.
    from nlica import load

    data = make_slowvae_dataset(3, n_layers=1, n_samples=4000, random_state=0)
    vae = SlowVAE(mixing="linear", max_iter=400, random_state=0, device="cpu").fit(data.X)
    X = data.X
    S = vae.transform(X)

    def r2(X_hat):
        return 1 - np.sum((X - X_hat) ** 2) / np.sum((X - X.mean(0)) ** 2)

    assert vae.reconstruction_r2_ > 0.995
    assert r2(vae.inverse_transform(S)) > 0.995

    def decoder_alone(Z):
        with torch.no_grad():
            out = vae.module_.decode(torch.as_tensor(Z, dtype=torch.float32)).numpy()
        return vae._unwhiten(out.astype(np.float64))

    # Without the read-out the same latents reconstruct worse (the test can fail).
    assert r2(decoder_alone(S)) < 0.99
    # sample is the generative model: z ~ N(0, I) through the decoder, without the read-out.
    X_new, Z = vae.sample(50, random_state=0)
    np.testing.assert_allclose(X_new, decoder_alone(Z), rtol=1e-5)
    # The read-out is part of the fitted state.
    vae.save(tmp_path / "vae.pt")
    np.testing.assert_array_equal(
        load(tmp_path / "vae.pt").inverse_transform(S), vae.inverse_transform(S)
    )


def test_save_load_round_trip(tmp_path):
    from nlica import load

    data = make_slowvae_dataset(2, n_samples=300, random_state=1)
    vae = _tiny(max_iter=10).fit(data.X)
    vae.save(tmp_path / "vae.pt")
    np.testing.assert_array_equal(
        load(tmp_path / "vae.pt").transform(data.X), vae.transform(data.X)
    )


def test_more_latents_than_features_and_learned_rate():
    data = make_slowvae_dataset(2, n_samples=500, random_state=2)
    vae = _tiny(n_components=4, learn_rate=True, kl_warmup=3, max_iter=20).fit(data.X)
    assert vae.transform(data.X).shape == (500, 4)
    assert vae.module_.log_rate.requires_grad
    assert not torch.allclose(vae.module_.log_rate, torch.full((4,), math.log(6.0)))


def test_invalid_parameters_and_data():
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(InvalidParameterError):
        SlowVAE(gamma=-1.0).fit(X)
    with pytest.raises(InvalidParameterError):
        SlowVAE(preset="slow").fit(X)
    with pytest.raises(ValueError, match="image_shape"):
        SlowVAE(image_shape=(1, 8, 8), max_iter=1).fit(X)
    with pytest.raises(ValueError, match="groups"):
        _tiny().fit(X, groups=np.arange(50))
    with pytest.raises(ValueError, match="bernoulli"):
        _tiny(likelihood="bernoulli").fit(X)


def test_divergence_raises():
    data = make_slowvae_dataset(2, n_samples=400, random_state=0)
    with pytest.raises(TrainingDivergedError, match="learning_rate"):
        _tiny(learning_rate=1e12, max_iter=300).fit(data.X * 1e6)


def test_image_mode_smoke():
    rng = np.random.default_rng(0)
    X = (rng.uniform(size=(64, 256)) > 0.7).astype(np.float32)
    vae = SlowVAE(
        n_components=3,
        image_shape=(1, 16, 16),
        max_iter=3,
        batch_size=8,
        random_state=0,
        device="cpu",
    ).fit(X)
    assert vae.transform(X).shape == (64, 3)
    recon = vae.inverse_transform(vae.transform(X))
    assert recon.shape == X.shape and recon.min() >= 0 and recon.max() <= 1
    assert vae.whitening_ is None


def test_presets():
    vae = SlowVAE(preset="paper")
    cfg = vae._train_config()
    assert (cfg.max_iter, cfg.learning_rate, vae._setting("batch_size")) == (300_000, 1e-4, 32)


@pytest.mark.gpu
def test_gpu_fit():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    data = make_slowvae_dataset(3, n_samples=2000, random_state=0)
    vae = SlowVAE(max_iter=50, random_state=0, device="cuda").fit(data.X)
    assert vae.device_.type == "cuda"
    assert vae.transform(data.X).shape == (2000, 3)


def test_out_of_range_input_is_refused_not_nan():
    # Fitted on unit-scale data, the float32 network overflows on 1e300: an error, not NaN.
    X = np.random.default_rng(0).standard_normal((64, 3))
    vae = _tiny().fit(X)
    with pytest.raises(ValueError, match="X has values far outside the range seen in fit"):
        vae.transform(X * 1e300)
    with pytest.raises(ValueError, match="S has values far outside"):
        vae.inverse_transform(np.full((4, 3), 1e300))
    assert np.all(np.isfinite(vae.inverse_transform(vae.transform(X))))


def test_default_budget_follows_the_data_size():
    # max_iter=None: about 64 passes over the pairs, at least 200 steps, at most the
    # preset's 8000; batch_size=None: never more pairs than there are.
    X = np.random.default_rng(0).standard_normal((30, 2))
    vae = SlowVAE(hidden_layer_sizes=(8,), random_state=0, device="cpu").fit(X)
    assert vae.n_iter_ == 200
    assert vae._setting("batch_size") == 29
    vae._fit_pairs = 4 * 2**15
    assert (vae._setting("max_iter"), vae._setting("batch_size")) == (8000, 256)
    vae._fit_pairs = 3999
    assert vae._setting("max_iter") == 1000
    explicit = SlowVAE(max_iter=7, batch_size=300)
    explicit._fit_pairs = 29
    assert (explicit._setting("max_iter"), explicit._setting("batch_size")) == (7, 300)
    paper = SlowVAE(preset="paper")
    paper._fit_pairs = 29
    assert paper._setting("max_iter") == 300_000


@pytest.mark.parametrize("rate", [8.0, 15.0])
def test_auto_rate_matches_the_step_size(rate):
    # Linear mixing of standardised sources: the whitened steps are a rotation of the
    # sources' steps, whose variance is 2 / rate**2 (Laplace steps of rate ``rate``).
    data = make_slowvae_dataset(3, n_samples=20000, rate=rate, random_state=0)
    vae = _tiny(max_iter=1).fit(data.X)
    assert vae.step_scale_ == pytest.approx(math.sqrt(2) / rate, rel=0.05)
    assert float(vae.module_.log_rate[0].exp()) == pytest.approx(rate, rel=0.05)
    assert vae._log_scale_bound() == pytest.approx(math.log(0.35 * 6 / vae._rate()))
    fixed = _tiny(max_iter=1, rate_prior=6.0, max_decoder_scale=0.35).fit(data.X)
    assert float(fixed.module_.log_rate[0].exp()) == pytest.approx(6.0)
    assert fixed._log_scale_bound() == pytest.approx(math.log(0.35))


def test_auto_rate_keeps_the_paper_rate_for_fast_sources():
    # Steps larger than those of rate 6 keep 6 and the tuned decoder bound 0.35.
    data = make_slowvae_dataset(3, n_samples=4000, rate=3.0, random_state=0)
    vae = _tiny(max_iter=1).fit(data.X)
    assert vae.step_scale_ > math.sqrt(2) / 6
    assert vae._rate() == 6.0
    assert vae._log_scale_bound() == pytest.approx(math.log(0.35))


def test_linear_model_starts_from_ica_of_the_steps():
    # Sources with Laplace steps and near-Gaussian marginals: FastICA of the rows cannot
    # separate them, FastICA of the steps can; one step of training keeps that start.
    data = make_slowvae_dataset(3, n_samples=4000, random_state=1)
    vae = SlowVAE(mixing="linear", max_iter=1, random_state=0, device="cpu").fit(data.X)
    assert mean_corr_coef(data.S, vae.transform(data.X), method="spearman") >= 0.95
    # Too few pairs for FastICA: the default initialisation, no error.
    tiny = _tiny(mixing="linear").fit(data.X[:5])
    assert tiny.transform(data.X[:5]).shape == (5, 3)


def test_auto_keeps_the_linear_model_on_linearly_mixed_sources():
    # The network must beat the warm-started linear model on held-out rows by one
    # standard error plus a margin per latent; on linearly mixed sources it does not.
    data = make_slowvae_dataset(3, n_layers=1, n_samples=2000, random_state=0)
    lin = SlowVAE(mixing="linear", max_iter=300, random_state=0, device="cpu").fit(data.X)
    assert lin.selected_model_ == "linear" and len(lin.module_.encoder.net) == 1
    assert mean_corr_coef(data.S, lin.transform(data.X), method="spearman") >= 0.95
    auto = SlowVAE(max_iter=300, random_state=0, device="cpu").fit(data.X)
    assert auto.selected_model_ == "linear" and len(auto.module_.encoder.net) == 1
    assert set(auto.model_scores_) == {"linear", "nonlinear"}
    assert mean_corr_coef(data.S, auto.transform(data.X), method="spearman") >= 0.95


def test_auto_retrains_a_kept_network_on_all_rows(monkeypatch):
    # When the network wins, "auto" returns the fit of mixing="nonlinear" (all rows), not
    # the network trained on 90% of them for the comparison.
    data = make_slowvae_dataset(3, n_layers=2, n_samples=2000, random_state=0)
    monkeypatch.setattr(SlowVAE, "_selection_margin", lambda self: -np.inf)
    auto = _tiny(max_iter=50).fit(data.X)
    net = _tiny(max_iter=50, mixing="nonlinear").fit(data.X)
    assert auto.selected_model_ == "nonlinear" and auto.model_scores_ is not None
    np.testing.assert_allclose(auto.transform(data.X), net.transform(data.X))
    # Images have no linear special case: "auto" is the network, without a comparison.
    assert not SlowVAE(image_shape=(1, 4, 4))._selects_mixing()


def test_image_posterior_full_or_diagonal():
    # Images follow ``posterior`` as vectors do: the conv encoder's last layer also gives
    # the Cholesky factor's strictly lower entries of a full covariance.
    k = 4
    enc = ConvEncoder((1, 8, 8), k, full_covariance=True)
    mu, logvar, lower = enc.encode_full(torch.zeros(2, 64))
    assert mu.shape == logvar.shape == (2, k) and lower.shape == (2, k * (k - 1) // 2)
    assert ConvEncoder((1, 8, 8), k).encode_full(torch.zeros(2, 64))[2] is None
    X = (np.random.default_rng(0).uniform(size=(40, 64)) > 0.7).astype(np.float32)
    for posterior, full in (("full", True), ("diagonal", False)):
        vae = SlowVAE(k, image_shape=(1, 8, 8), posterior=posterior, max_iter=2, batch_size=8)
        vae.set_params(random_state=0, device="cpu").fit(X)
        assert vae.module_.encoder.full_covariance is full
        assert vae.transform(X).shape == (40, k)
