"""Save and load fitted estimators without pickle.

A checkpoint is a plain dictionary of strings, numbers, lists and tensors written with
:func:`torch.save` and read with ``torch.load(..., weights_only=True)``, so loading a file
never runs code from it. Parameters are stored as plain values, fitted arrays as CPU
tensors, torch modules as state dicts (rebuilt from the estimator's parameters and fitted
attributes), and the versions of nlica, torch and scikit-learn are recorded. A model
fitted on a GPU loads on a CPU-only machine.
"""

import warnings

import numpy as np
import sklearn
import torch

from ._version import __version__

__all__ = ["save", "load"]

_FORMAT = "nlica-checkpoint"
_FORMAT_VERSION = 1


def _registry():
    from . import _fastica

    classes = {"FastICA": _fastica.FastICA}
    for module_name, cls_name in (("_tcl", "TCL"), ("_pcl", "PCL"), ("_slowvae", "SlowVAE")):
        try:
            module = __import__(f"nlica.{module_name}", fromlist=[cls_name])
        except ImportError:
            continue
        classes[cls_name] = getattr(module, cls_name)
    return classes


def _encode(value, where):
    from .base import BaseICA

    if value is None or isinstance(value, bool):
        return value
    # Plain builtins only: subclasses (e.g. torch's version string) are not weights-only safe.
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            return {"__ndarray__": torch.tensor(value), "dtype": str(value.dtype)}
        if value.dtype.kind in "OUS":
            return {"__strarray__": [str(v) for v in value.ravel().tolist()],
                    "shape": list(value.shape)}
        raise ValueError(f"cannot save {where}: arrays of dtype {value.dtype} are not supported.")
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, torch.nn.Module):
        state = {k: v.detach().cpu() for k, v in value.state_dict().items()}
        return {"__module__": state}
    if isinstance(value, BaseICA):
        return {"__estimator__": _to_checkpoint(value)}
    if isinstance(value, dict):
        return {"__dict__": {str(k): _encode(v, f"{where}[{k!r}]") for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    raise ValueError(
        f"cannot save {where} of type {type(value).__name__}: only numbers, strings, arrays, "
        "tensors, modules and nested estimators are stored."
    )


def _decode(value, device):
    if isinstance(value, list):
        return [_decode(v, device) for v in value]
    if not isinstance(value, dict):
        return value
    if "__ndarray__" in value:
        return value["__ndarray__"].numpy().astype(value["dtype"], copy=False)
    if "__strarray__" in value:
        return np.array(value["__strarray__"], dtype=object).reshape(value["shape"])
    if "__device__" in value:
        dev = torch.device(value["__device__"])
        if dev.type == "cuda" and not torch.cuda.is_available():
            dev = torch.device("cpu")
        return dev
    if "__estimator__" in value:
        return _from_checkpoint(value["__estimator__"])
    if "__dict__" in value:
        return {k: _decode(v, device) for k, v in value["__dict__"].items()}
    if "__tuple__" in value:
        return tuple(_decode(v, device) for v in value["__tuple__"])
    return value  # a "__module__" entry, rebuilt by the caller


def _params_to_plain(est):
    params = {}
    for name, value in est.get_params(deep=False).items():
        if callable(value) and not isinstance(value, type):
            if name == "callbacks" or isinstance(value, list):
                params[name] = None
                continue
            raise ValueError(
                f"cannot save {type(est).__name__}: parameter {name}={value!r} is a callable; "
                "checkpoints store plain values only."
            )
        if name == "callbacks":
            # Callbacks are code; they are not stored (re-attach after loading).
            params[name] = None
            continue
        params[name] = _encode(value, f"parameter {name}")
    return params


def _to_checkpoint(est):
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    param_names = set(est.get_params(deep=False))
    fitted = {}
    for name, value in vars(est).items():
        if name in param_names:
            continue
        fitted[name] = _encode(value, f"attribute {name}")
    return {"class": type(est).__name__, "params": _params_to_plain(est), "fitted": fitted}


def _from_checkpoint(ckpt):
    classes = _registry()
    cls_name = ckpt.get("class")
    if cls_name not in classes:
        raise ValueError(
            f"the checkpoint holds an estimator of class {cls_name!r}, which this nlica does "
            f"not provide (known: {sorted(classes)})."
        )
    params = {k: _decode(v, None) for k, v in ckpt["params"].items()}
    est = classes[cls_name](**params)
    modules = {}
    for name, value in ckpt["fitted"].items():
        if isinstance(value, dict) and "__module__" in value:
            modules[name] = value["__module__"]
            continue
        setattr(est, name, _decode(value, None))
    for name, state in modules.items():
        module = est._build_module(est.n_features_in_, est.n_components_)
        module.load_state_dict(state)
        device = getattr(est, "device_", torch.device("cpu"))
        setattr(est, name, module.to(device).eval())
    return est


def save(estimator, path):
    """Write a fitted estimator to ``path`` as a weights-only checkpoint.

    Parameters
    ----------
    estimator : nlica estimator
        A fitted :class:`~nlica.FastICA`, :class:`~nlica.TCL`, :class:`~nlica.PCL` or
        :class:`~nlica.SlowVAE`. Callbacks are not stored.
    path : str or path-like
        Destination file.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from nlica import FastICA, load
    >>> X = np.random.default_rng(0).laplace(size=(500, 3))
    >>> ica = FastICA(random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "ica.pt")
    >>> save(ica, path)
    >>> np.allclose(load(path).transform(X), ica.transform(X))
    True
    """
    ckpt = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "versions": {"nlica": __version__, "torch": str(torch.__version__),
                     "sklearn": sklearn.__version__},
        "estimator": _to_checkpoint(estimator),
    }
    torch.save(ckpt, path)


def load(path):
    """Load an estimator written by :func:`save` (no code is executed from the file).

    Parameters
    ----------
    path : str or path-like
        Checkpoint file.

    Returns
    -------
    estimator : nlica estimator
        The fitted estimator, on its original device when available, else on the CPU.

    Raises
    ------
    ValueError
        If the file is not an nlica checkpoint.

    Warns
    -----
    UserWarning
        When the checkpoint was written by another version of nlica, torch or scikit-learn.

    Examples
    --------
    >>> load("/nonexistent.pt")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    FileNotFoundError: ...
    """
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(
            f"{path!s} is not an nlica checkpoint (it could not be read as a weights-only "
            f"torch file: {type(exc).__name__})."
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != _FORMAT:
        raise ValueError(f"{path!s} is not an nlica checkpoint (no nlica format marker).")
    if ckpt.get("format_version", 0) > _FORMAT_VERSION:
        raise ValueError(
            f"{path!s} was written by a newer nlica (checkpoint format "
            f"{ckpt['format_version']}); upgrade nlica to load it."
        )
    current = {"nlica": __version__, "torch": str(torch.__version__),
               "sklearn": sklearn.__version__}
    stored = ckpt.get("versions", {})
    differ = {k: (stored.get(k), v) for k, v in current.items() if stored.get(k) != v}
    if differ:
        detail = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in differ.items())
        warnings.warn(
            f"{path!s} was saved with other library versions ({detail}); results may differ.",
            UserWarning,
            stacklevel=2,
        )
    return _from_checkpoint(ckpt["estimator"])
