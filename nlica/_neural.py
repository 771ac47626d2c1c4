"""BaseNeuralICA: the template of every torch estimator.

An estimator is its parameters and a few hooks; ARCHITECTURE.md lists them with their
signatures. ``fit`` validates ``X`` and ``groups``, whitens, seeds, builds the module with
``_build_module``, trains it with the shared loop (:func:`nlica._training.train`) on
batches from ``_prepare`` under the loss ``_loss``, and keeps the best of the ``n_init``
runs. ``transform`` applies a float64 copy of the module through ``_encode`` to whitened
blocks of rows and maps the result with ``_output``.

Required hooks
    ``_build_module(n_features, n_components) -> torch.nn.Module``;
    ``_prepare(Z, runs, generator, fit_params) -> batch_fn``;
    ``_loss(module, batch) -> (loss, metrics)``.
Optional hooks
    ``_check_layout(X)``, ``_check_fit_params(X, runs, n_components, fit_params)``,
    ``_schedule(max_iter) -> dict``, ``_train_kwargs(module) -> dict``,
    ``_n_init() -> int``, ``_after_run(module, Z)``,
    ``_restart_after(module, Z) -> bool``,
    ``_after_fit(Z, runs, fit_params)``, ``_whitens() -> bool``,
    ``_encode(module, Z) -> tensor``, ``_output(H) -> ndarray``,
    ``_decode(module, S) -> tensor`` (enables ``inverse_transform``),
    ``_read_out(out) -> tensor`` (maps decoded rows to ``inverse_transform``'s output;
    ``sample`` skips it).
Class attributes
    ``_presets`` (``{"fast": {...}, "paper": {...}}``, keys named like the parameters or
    like :class:`~nlica._training.TrainConfig` fields), ``_parameter_docs`` (estimator
    wording of shared parameters), ``_min_run_length``.
"""

import copy
import inspect
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted

from ._fastica import FastICA
from ._neural_params import (
    NETWORK_CONSTRAINTS,
    SERIES_DATA_DOC,
    TRAINING_CONSTRAINTS,
    TRAINING_DEFAULTS,
    TRAINING_PARAMETERS,
    fill_docstring,
)
from ._rows import CHUNK_ROWS, WhiteningMixin, _thin
from ._selection import _MIN_SCORE_PIECE, SelectionMixin
from ._training import TrainConfig, train
from .base import BaseICA, resolve_device, usable_device
from .nn.modules import Decoder
from .utils._docstrings import fill_doc
from .utils.validation import (
    caller_stacklevel,
    check_array_2d,
    check_groups,
    check_time_in_rows,
)

__all__ = ["BaseNeuralICA", "CHUNK_ROWS", "TRAINING_PARAMETERS"]

# Steps between reads of the training loss (logging, early stopping, callbacks).
LOG_EVERY = 100

# Largest activation (elements of one layer's output per step) trained with one CPU thread:
# smaller kernels gain nothing from more threads, and a busy second core slows them badly.
# Above it two threads pay on an idle 2-core machine (ms per step, one thread against two:
# PCL's network at 20 components, 491 520 elements, 13-15 against 11-12; TCL's at 20,
# 1 310 720 elements, 42-44 against 27).
_SMALL_STEP = 1 << 18

# The decoder of the contrastive estimators (fitted after their features on the training
# rows): at most _DECODER_STEPS Adam steps of _DECODER_BATCH rows.
_DECODER_STEPS = 3000
_DECODER_ROWS = 1 << 18
_DECODER_BATCH = 512
_DECODER_LR = 3e-3
# Rows of held-out data on which reconstruction_r2_ is measured (bounded for long data).
_R2_ROWS = 1 << 16

# Preset keys that are TrainConfig fields are passed to it as they are.
_CONFIG_FIELDS = ("optimizer", "momentum", "schedule", "step_gamma", "ema_decay", "warmup")


def check_finite_output(values, name):
    """Raise a ValueError when a network's output overflowed (never return NaN).

    Parameters
    ----------
    values : ndarray
        The output.
    name : str
        The input argument whose values were out of range (``"X"``, ``"S"``).

    Returns
    -------
    values : ndarray
        ``values``, unchanged.

    Examples
    --------
    >>> check_finite_output(np.ones(2), "X")
    array([1., 1.])
    """
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"{name} has values far outside the range seen in fit: the network gave "
            f"non-finite output. Check the units and scaling of {name}."
        )
    return values


def _full_signature(init):
    """Build the signature of a subclass ``__init__``: its own parameters, then the shared.

    scikit-learn's ``get_params``, ``clone`` and ``inspect.signature`` (hence the docs)
    read ``__signature__``, so the shared parameters are declared once, in
    ``TRAINING_DEFAULTS``, yet every estimator's signature lists them explicitly.
    """
    signature = inspect.signature(init)
    own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    if len(own) == len(signature.parameters):
        raise TypeError(f"{init.__qualname__} must take **training_parameters")
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in TRAINING_DEFAULTS.items()
    ]
    return signature.replace(parameters=own + shared)


def _has_decoder(est):
    return type(est)._decode is not BaseNeuralICA._decode


def _fastica_unmixing(rows, seed, max_iter):
    """FastICA unmixing (unit-variance sources) of ``rows``, or None where it has none.

    The start of the linear special case of SlowVAE and PCL. ``None`` for rank-deficient
    rows or a result that is not square and finite.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> S = rng.laplace(size=(2000, 2))
    >>> W = _fastica_unmixing(S @ [[1.0, 0.5], [0.2, 1.0]], seed=0, max_iter=200)
    >>> W.shape
    (2, 2)
    >>> _fastica_unmixing(np.zeros((100, 2)), seed=0, max_iter=200) is None
    True
    """
    ica = FastICA(whiten="unit-variance", random_state=seed, max_iter=max_iter)
    try:
        with warnings.catch_warnings():
            # An unconverged FastICA is still a start; training refines it.
            warnings.simplefilter("ignore", ConvergenceWarning)
            W = ica.fit(rows).components_
    except ValueError:  # rank-deficient rows (e.g. constant steps)
        return None
    if W.shape[0] != rows.shape[1] or not np.all(np.isfinite(W)):
        return None
    return W


class BaseNeuralICA(WhiteningMixin, SelectionMixin, BaseICA):
    """Template of the neural nonlinear ICA estimators: fit, transform and persistence.

    Not used directly; see :class:`nlica.TCL`, :class:`nlica.PCL` and
    :class:`nlica.SlowVAE`. A subclass's ``__init__`` declares and sets its own
    parameters, takes ``**training_parameters`` and passes them to this ``__init__``,
    which sets ``TRAINING_PARAMETERS``; the subclass's signature then lists both (its own
    first), as scikit-learn's ``get_params`` and the docs read it. The subclass also
    declares its own constraints (the shared ones are merged in) and the hooks listed in
    the module docstring.

    Examples
    --------
    >>> issubclass(BaseNeuralICA, BaseICA)
    True
    """

    # Smallest recording piece a method can use (2 for lag-1 pairs).
    _min_run_length = 1
    # {"fast": {...}, "paper": {...}}: values of the parameters left at None (keys named
    # like the parameters) and TrainConfig fields (optimizer, schedule, ema_decay, ...).
    _presets = {}
    # Estimator wording of shared parameters, by name (see _TRAINING_DOCS).
    _parameter_docs = {}
    # Whether a decoder (module_.decoder) is fitted after the network (TCL, PCL).
    _fits_decoder = False

    def __init__(self, **training_parameters):
        self._store_parameters({"training_parameters": training_parameters})

    def _store_parameters(self, arguments):
        """Set a subclass's own ``__init__`` arguments and the shared training parameters.

        ``arguments`` is the subclass's ``locals()``: its parameters and the dict of
        ``**training_parameters``, whose absent names take ``TRAINING_DEFAULTS``.
        """
        own = dict(arguments)
        training_parameters = own.pop("training_parameters", {})
        unknown = sorted(set(training_parameters) - set(TRAINING_PARAMETERS))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                f"{unknown[0]!r}"
            )
        super()._store_parameters(own)
        for name, default in TRAINING_DEFAULTS.items():
            setattr(self, name, training_parameters.get(name, default))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            init.__signature__ = _full_signature(init)
        own = cls.__dict__.get("_parameter_constraints")
        if own is not None:
            takes = inspect.signature(init).parameters if init is not None else {}
            shared = {k: v for k, v in NETWORK_CONSTRAINTS.items() if k in takes}
            cls._parameter_constraints = {**shared, **own, **TRAINING_CONSTRAINTS}
        doc = cls.__dict__.get("__doc__")
        if doc is not None:
            cls.__doc__ = fill_docstring(doc, cls._presets, cls._parameter_docs)

    # ------------------------------------------------------------ required hooks
    def _build_module(self, n_features, n_components):  # pragma: no cover - abstract
        """Return the ``torch.nn.Module`` to train (built on the CPU from the seed)."""
        raise NotImplementedError

    def _prepare(self, Z, runs, generator, fit_params):  # pragma: no cover - abstract
        """Return ``batch_fn() -> batch`` drawing from whitened ``Z`` with ``generator``."""
        raise NotImplementedError

    def _loss(self, module, batch):  # pragma: no cover - abstract
        """Return ``(loss, metrics)`` of one batch (metrics: dict of scalar tensors)."""
        raise NotImplementedError

    # ------------------------------------------------------------ optional hooks
    def _check_layout(self, X):
        """Refuse channels-first data before any n_features^2 matrix is formed."""
        check_time_in_rows(X, type(self).__name__)

    def _check_fit_params(self, X, runs, n_components, fit_params):
        """Check method-specific data needs before training; may add to ``fit_params``."""

    def _schedule(self, max_iter):
        """Return TrainConfig fields computed from ``max_iter`` (milestones, frozen steps)."""
        return {}

    def _train_kwargs(self, module):
        """Extra keyword arguments of :func:`~nlica._training.train` (decay/head params)."""
        return {}

    def _n_init(self):
        """Return the number of training restarts (the parameter, or the preset's)."""
        return int(self._setting("n_init"))

    def _after_run(self, module, Z):
        """Work on each trained network before runs are compared (PCL: spare features last)."""

    def _restart_after(self, module, Z):
        """Return whether to train the next of the ``_n_init()`` runs after this one."""
        return True

    def _after_fit(self, Z, runs, fit_params):
        """Work after training (e.g. TCL's linear ICA); Z is the whitened training data."""

    def _whitens(self):
        """Whether ``X`` is PCA-whitened before the network (else it is used as it is)."""
        return True

    def _encode(self, module, Z):
        """Return the features of whitened rows ``Z``; ``module`` is a float64 copy."""
        return module(Z)

    def _output(self, H):
        """Map the float64 features ``H`` (ndarray) to what ``transform`` returns."""
        return H

    def _selects_mixing(self):
        """Whether ``mixing="auto"`` compares the linear special case with the network."""
        return self._linear_available()

    def _linear_available(self):
        """Whether the input has a linear special case (``mixing="linear"``)."""
        return True

    def _subset_fit_params(self, fit_params, rows):
        """``fit_params`` restricted to the training ``rows`` (e.g. TCL's labels)."""
        return fit_params

    def _min_piece_rows(self):
        """Fewest rows of one recording piece that ``_heldout_score`` can score."""
        return _MIN_SCORE_PIECE

    def _selection_margin(self):
        """Held-out score gain per row the network needs beyond one standard error."""
        return 0.0

    def _refits_network(self):
        """Whether a network kept by ``mixing="auto"`` is retrained on all the rows."""
        return False

    def _heldout_score(self, X, runs, fit_params, rows):
        """Return the estimator's own ``score`` (higher is better) on held-out ``X``."""
        return self.score(X, groups=runs)

    def _decode(self, module, S):  # pragma: no cover - only where a subclass has one
        """Return whitened reconstructions of latents ``S`` (adds ``inverse_transform``)."""
        raise NotImplementedError

    # ------------------------------------------------------------ decoder
    def _stream_seed(self, offset):
        """Seed ``offset`` places after the network seeds in ``random_state``'s stream."""
        rng = check_random_state(self.random_state)
        return int(rng.randint(0, 2**31 - 1, size=self._n_init() + offset)[-1])

    def _attach_decoder(self, net, n_features, n_components, hidden_layer_sizes):
        """Give ``net`` a ``decoder`` from its ``n_components`` outputs to its inputs.

        The decoder is built after the rest, so the rest's seeded weights are unchanged.
        """
        net.decoder = Decoder(n_components, hidden_layer_sizes, n_features)
        return net

    def _fit_decoder(self, decoder, S, Z, seed):
        """Train ``decoder`` to map outputs ``S`` (ndarray) back to whitened rows ``Z``.

        The contrastive estimators have no closed-form inverse of their features; a
        decoder fitted after them gives ``inverse_transform``.
        """
        n = Z.shape[0]
        device = self.device_
        decoder.fit_linear(torch.as_tensor(S, dtype=torch.float64), Z)
        S = torch.tensor(S, dtype=torch.float32, device=device)
        generator = torch.Generator(device=device)
        generator.manual_seed(int(seed))
        batch = min(_DECODER_BATCH, n)

        def batch_fn():
            idx = torch.randint(0, n, (batch,), generator=generator, device=device)
            return S[idx], Z[idx]

        def loss_fn(module, pair):
            s, z = pair
            return torch.mean((module(s) - z) ** 2), {}

        config = TrainConfig(
            max_iter=min(_DECODER_STEPS, int(self._setting("max_iter"))),
            learning_rate=_DECODER_LR,
            optimizer="adam",
            schedule="cosine",
            log_every=LOG_EVERY,
            clip_grad_norm=self.clip_grad_norm,
            precision=self.precision,
            compile=bool(self.compile),
        )
        train(decoder, loss_fn, batch_fn, config, name=f"{type(self).__name__} decoder")
        decoder.eval()

    def _reconstruction_r2(self, rows):
        """R² of ``inverse_transform(transform(rows))`` against ``rows`` (held-out rows)."""
        rows = np.asarray(rows, dtype=np.float64)
        S = self._output(self._encode64(rows).cpu().numpy())
        centred = rows - rows.mean(axis=0)
        error = rows - self.inverse_transform(S)
        # Divided by the largest deviation so that data near 1e200 do not overflow.
        peak = float(np.max(np.abs(centred))) if centred.size else 0.0
        if peak == 0 or not np.isfinite(peak):
            return 1.0
        return float(1.0 - np.sum((error / peak) ** 2) / np.sum((centred / peak) ** 2))

    def _linear(self):
        """Whether the network being built is the linear special case (``selected_model_``)."""
        return getattr(self, "selected_model_", "nonlinear") == "linear"

    # ------------------------------------------------------------ settings
    def _setting(self, name):
        """Return parameter ``name``, or the preset's value when it is None or absent."""
        value = getattr(self, name, None)
        return self._presets[self.preset][name] if value is None else value

    def _hidden_sizes(self, n_components):
        """Return the hidden layer widths of the network.

        None for the linear special case, else ``hidden_layer_sizes``, else
        ``n_layers - 1`` layers of ``max(min_width, width_factor * n_components)`` (preset
        keys). TCL and IVAE use this layout; PCL lays out the same width its own way.
        """
        if self._linear():
            return []
        given = self._given_hidden_sizes()
        if given is not None:
            return given
        return [self._default_width(n_components)] * (self.n_layers - 1)

    def _default_width(self, n_components):
        """Return the preset's hidden width, ``max(min_width, width_factor * n_components)``."""
        return max(self._setting("min_width"), self._setting("width_factor") * n_components)

    def _given_hidden_sizes(self):
        """Return ``hidden_layer_sizes`` as a list of ints (None when not given)."""
        if self.hidden_layer_sizes is None:
            return None
        sizes = np.asarray(self.hidden_layer_sizes).reshape(-1)
        if sizes.size and (sizes.dtype.kind not in "iu" or np.any(sizes < 1)):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive integers; got "
                f"{self.hidden_layer_sizes!r}."
            )
        return [int(h) for h in sizes]

    def _train_config(self):
        """Return the :class:`~nlica._training.TrainConfig` of the parameters and preset."""
        preset = self._presets[self.preset]
        max_iter = int(self._setting("max_iter"))
        fields = {k: preset[k] for k in _CONFIG_FIELDS if k in preset}
        fields.update(self._schedule(max_iter))
        return TrainConfig(
            max_iter=max_iter,
            learning_rate=float(self._setting("learning_rate")),
            weight_decay=float(self._setting("weight_decay")),
            log_every=LOG_EVERY,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            verbose=self.verbose,
            callbacks=list(self.callbacks or []),
            clip_grad_norm=self.clip_grad_norm,
            precision=self.precision,
            compile=bool(self.compile),
            **fields,
        )

    def _one_thread_if_small(self, Z, activations):
        """Train on one CPU thread when a step's largest activation is small.

        Otherwise train on the caller's thread count: an earlier, smaller model of the
        same fit (the linear candidate of ``mixing="auto"``) must not leave the network on
        one thread. ``_fit_neural`` restores the caller's count afterwards.
        """
        if Z.device.type != "cpu":
            return
        small = activations <= _SMALL_STEP
        torch.set_num_threads(
            1 if small else getattr(self, "_fit_threads", torch.get_num_threads())
        )

    # ------------------------------------------------------------ encoding
    def _net64(self):
        """Return a float64 copy of the trained module, in eval mode."""
        return copy.deepcopy(self.module_).to(torch.float64).eval()

    def _encode64(self, X=None, *, Z=None, net=None, head=None):
        """Apply ``_encode`` in float64 to whitened blocks of ``X`` (or of ``Z``).

        Returns the features, a float64 tensor on ``device_``; with ``head``, also the
        concatenation of ``head(net, h)`` over the blocks (kept instead of whatever
        larger output ``head`` starts from, e.g. one winning class per row, not logits).
        """
        net = self._net64() if net is None else net
        feats, heads = [], []
        with torch.no_grad():
            for block in self._whitened_blocks64(X, Z):
                h = self._encode(net, block)
                feats.append(h)
                if head is not None:
                    heads.append(head(net, h))
        H = (
            torch.cat(feats)
            if feats
            else torch.empty((0, self.n_components_), dtype=torch.float64, device=self.device_)
        )
        if head is None:
            return H
        return H, torch.cat(heads)

    # -------------------------------------------------------------------- fit
    @fill_doc({"series data": SERIES_DATA_DOC})
    def fit(self, X, y=None, *, groups=None):
        """Fit the model to the time series ``X``.

        Parameters
        ----------
        <series data>
        groups : array-like of shape (n_samples,), default=None
            Recording label of each sample; no pair or segment crosses from one recording
            to another. ``None`` means one recording.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_neural(X, groups, {})

    def _fit_neural(self, X, groups, fit_params):
        n_threads = torch.get_num_threads()
        self._fit_threads = n_threads
        try:
            self._fit_neural_body(X, groups, fit_params)
        finally:
            # _prepare may lower the thread count for small networks on the CPU.
            torch.set_num_threads(n_threads)
            self.__dict__.pop("_fit_threads", None)
        max_iter = int(self._setting("max_iter"))
        if self.n_iter_no_change is not None and self.n_iter_ >= max_iter:
            warnings.warn(
                f"{type(self).__name__} stopped at max_iter={max_iter} before the loss "
                f"settled (n_iter_no_change={self.n_iter_no_change}); increase max_iter.",
                ConvergenceWarning,
                stacklevel=caller_stacklevel(),
            )
        return self

    def _fit_neural_body(self, X, groups, fit_params):
        self._validate_params()
        X, n_components = self._validate_fit_data(X)
        self._check_layout(X)
        runs = check_groups(groups, X.shape[0], min_run_length=self._min_run_length)
        device = resolve_device(self.device)
        # A previous fit's choice must not shape this one.
        self.__dict__.pop("selected_model_", None)
        self._check_fit_params(X, runs, n_components, fit_params)
        self._fit_whitener(X, n_components)
        Z = self._training_data(X, device)
        self.n_components_ = n_components
        self.device_ = device

        if self.mixing == "linear" and not self._linear_available():
            raise ValueError(
                f"mixing='linear' is not available for this input ({type(self).__name__} "
                "with image_shape has no linear special case); use mixing='nonlinear'."
            )
        train_idx, test_idx = self._split(runs, fit_params)
        if self.mixing == "auto" and self._selects_mixing() and test_idx.size > 0:
            self._select_mixing(X, Z, runs, fit_params, train_idx, test_idx)
        else:
            self.selected_model_ = "nonlinear" if self.mixing == "auto" else self.mixing
            self.model_scores_ = None
            self._train_module(Z, runs, fit_params)
        if self._fits_decoder:
            # Trained on (at most _DECODER_ROWS of) the training rows; reconstruction_r2_
            # is measured on the others. Indexing reads only those rows of a memmap.
            Z_dec = Z[torch.as_tensor(_thin(train_idx, _DECODER_ROWS), device=Z.device)]
            S = self._output(self._encode64(Z=Z_dec).cpu().numpy())
            self._fit_decoder(self.module_.decoder, S, Z_dec, self._stream_seed(2))
        if _has_decoder(self):
            rows = test_idx if test_idx.size else np.arange(X.shape[0])
            self.reconstruction_r2_ = self._reconstruction_r2(X[rows[:_R2_ROWS]])

    def _train_module(self, Z, runs, fit_params):
        """Train ``n_init`` networks on whitened ``Z``, keep the best, then ``_after_fit``."""
        rng = check_random_state(self.random_state)
        seeds = rng.randint(0, 2**31 - 1, size=self._n_init())
        config = self._train_config()
        best = None
        for seed in seeds:
            seed = int(seed)
            # Weights are drawn on the CPU from the seed without touching the user's RNG,
            # so a fit is reproducible whatever the device.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                module = self._build_module(self._n_inputs(), self.n_components_)
            module = module.to(self.device_)
            generator = torch.Generator(device=self.device_)
            generator.manual_seed(seed)
            batch_fn = self._prepare(Z, runs, generator, fit_params)
            history, n_iter = train(
                module,
                self._loss,
                batch_fn,
                config,
                name=type(self).__name__,
                **self._train_kwargs(module),
            )
            self._after_run(module, Z)
            final = history[-1]["loss"]
            if best is None or final < best[0]:
                best = (final, module, history, n_iter)
            if not self._restart_after(module, Z):
                break
        _, module, history, n_iter = best
        self.module_ = module
        self.history_ = history
        self.loss_curve_ = [h["loss"] for h in history]
        self.n_iter_ = n_iter
        self._after_fit(Z, runs, fit_params)

    # -------------------------------------------------------------- transform
    def transform(self, X):
        """Return the estimated sources of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data in the feature space seen in ``fit``.

        Returns
        -------
        S : ndarray of shape (n_samples, n_components)
            Estimated sources, in ``X``'s float dtype. Each row is computed in float64
            independently of the other rows.
        """
        return self._transform(X)

    def _transform(self, X, raw=False):
        """Validate, encode in float64 and (unless ``raw``) apply ``_output``."""
        X = self._validate_transform_data(X)
        H = self._encode64(X).cpu().numpy()
        if not raw:
            H = self._output(H)
        return check_finite_output(self._as_output(H, X), "X")

    @available_if(_has_decoder)
    def inverse_transform(self, S):
        """Decode latents to the data space.

        Parameters
        ----------
        S : array-like of shape (n_samples, n_components)
            Latents (e.g. the output of :meth:`transform`).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Reconstructions in the units of ``X``, in ``S``'s float dtype.
        """
        return self._inverse(S)

    def _read_out(self, out):
        """Map the decoder's output to ``inverse_transform``'s (identity here)."""
        return out

    def _inverse(self, S, generative=False):
        """``inverse_transform``; ``generative=True`` (``sample``) skips ``_read_out``."""
        self._check_is_fitted()
        S = check_array_2d(S, name="S", dtype=[np.float64, np.float32], allow_1d=False)
        dtype = S.dtype
        if S.shape[1] != self.n_components_:
            raise ValueError(f"S must have shape (n_samples, {self.n_components_}); got {S.shape}.")
        out = []
        with torch.no_grad():
            for start in range(0, S.shape[0], CHUNK_ROWS):
                z = torch.tensor(
                    S[start : start + CHUNK_ROWS], dtype=torch.float32, device=self.device_
                )
                x = self._decode(self.module_, z)
                if not generative:
                    x = self._read_out(x)
                out.append(x.cpu().numpy().astype(np.float64))
        X = (
            check_finite_output(np.concatenate(out), "S")
            if out
            else np.empty((0, self.n_features_in_))
        )
        return self._unwhiten(X).astype(dtype)

    # ---------------------------------------------------------------- pickling
    def __getstate__(self):
        # Pickle modules on the CPU so a GPU-fitted model loads on a CPU-only machine.
        state = super().__getstate__()
        if "module_" in state:
            state["module_"] = copy.deepcopy(state["module_"]).to("cpu")
            state["device_"] = str(state["device_"])
        return state

    def __setstate__(self, state):
        device = state.get("device_")
        if isinstance(device, str):
            dev = usable_device(device)
            state["device_"] = dev
            if "module_" in state:
                state["module_"] = state["module_"].to(dev)
        super().__setstate__(state)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "module_")

    def _check_is_fitted(self):
        check_is_fitted(self)
