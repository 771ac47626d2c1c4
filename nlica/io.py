"""Save and load fitted estimators without pickle.

A checkpoint is a plain dictionary of strings, numbers, lists and tensors written with
:func:`torch.save` and read with ``torch.load(..., weights_only=True)``, so loading a file
never runs code from it. Parameters are stored as plain values, fitted arrays as CPU
tensors, torch modules as state dicts (rebuilt from the estimator's parameters and fitted
attributes), and the versions of nlica, torch and scikit-learn are recorded. A model
fitted on a GPU loads on a CPU-only machine.
"""

import errno
import importlib
import os
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._device import usable_device
from ._version import __version__
from .utils.validation import is_int

__all__ = ["save", "load", "CheckpointNotFoundError", "CheckpointWriteError"]

_FORMAT = "nlica-checkpoint"
_FORMAT_VERSION = 1


class CheckpointNotFoundError(FileNotFoundError, ValueError):
    """Raised by :func:`load` for a path that does not exist.

    A :class:`FileNotFoundError`, as Python raises for a missing file, and also a
    :class:`ValueError`, as nlica raises for every bad argument value.

    Examples
    --------
    >>> issubclass(CheckpointNotFoundError, FileNotFoundError)
    True
    """


class CheckpointWriteError(OSError, ValueError):
    """Raised by :func:`save` when the checkpoint file cannot be written.

    For example a directory that does not exist, a path that is a directory, or no
    permission. An :class:`OSError` and also a :class:`ValueError` (a bad ``path``).

    Examples
    --------
    >>> issubclass(CheckpointWriteError, OSError) and issubclass(CheckpointWriteError, ValueError)
    True
    """


def _is_pathlike(path):
    return isinstance(path, str | bytes | os.PathLike)


def _describe(path):
    """``path='...'`` for a file name, or the type of a file object, for messages."""
    if _is_pathlike(path):
        return f"path={os.fsdecode(path)!r}"
    return f"path (a {type(path).__name__} file object)"


def _check_path_type(path, mode):
    """Raise TypeError unless ``path`` is a file name or a binary file object."""
    method = "read" if mode == "r" else "write"
    if _is_pathlike(path) or hasattr(path, method):
        return
    raise TypeError(
        f"path must be a file name (str or os.PathLike) or a binary file object with a "
        f"{method}() method; got {path!r} of type {type(path).__name__}."
    )


# The estimators a checkpoint may hold, by class name, with the module that defines each.
# Resolved by name when needed: io imports no estimator module (they import io for save).
_ESTIMATORS = {
    "FastICA": "._fastica",
    "TCL": "._tcl",
    "PCL": "._pcl",
    "SlowVAE": "._slowvae",
    "IVAE": "._ivae",
}


def _registry():
    """Return ``{name: class}`` of the estimators a checkpoint may hold."""
    return {
        name: getattr(importlib.import_module(module, __package__), name)
        for name, module in _ESTIMATORS.items()
    }


def _is_estimator(value):
    return isinstance(value, tuple(_registry().values()))


def _encode(value, where):
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
            return {
                "__strarray__": [str(v) for v in value.ravel().tolist()],
                "shape": list(value.shape),
            }
        raise ValueError(f"cannot save {where}: arrays of dtype {value.dtype} are not supported.")
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, torch.nn.Module):
        state = {k: v.detach().cpu() for k, v in value.state_dict().items()}
        return {"__module__": state}
    if _is_estimator(value):
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
        return usable_device(value["__device__"])
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
    check_is_fitted(est)
    param_names = set(est.get_params(deep=False))
    fitted = {}
    for name, value in vars(est).items():
        if name in param_names:
            continue
        fitted[name] = _encode(value, f"attribute {name}")
    return {"class": type(est).__name__, "params": _params_to_plain(est), "fitted": fitted}


def _from_checkpoint(ckpt):
    if not isinstance(ckpt, dict) or not all(k in ckpt for k in ("class", "params", "fitted")):
        raise ValueError(
            "its estimator entry should be a dict with 'class', 'params' and 'fitted'; got "
            f"{type(ckpt).__name__}"
            + (f" with keys {sorted(map(str, ckpt))}" if isinstance(ckpt, dict) else "")
        )
    classes = _registry()
    cls_name = ckpt["class"]
    if not isinstance(cls_name, str) or cls_name not in classes:
        raise ValueError(
            f"the checkpoint holds an estimator of class {cls_name!r}, which this nlica does "
            f"not provide (known: {sorted(classes)})"
        )
    cls = classes[cls_name]
    if not isinstance(ckpt["params"], dict) or not isinstance(ckpt["fitted"], dict):
        raise ValueError("its 'params' and 'fitted' entries should be dicts")
    params = {k: _decode(v, None) for k, v in ckpt["params"].items()}
    unknown = sorted(set(params) - set(cls().get_params(deep=False)))
    if unknown:
        raise ValueError(f"{cls_name} has no parameter(s) {unknown}")
    est = cls(**params)
    # The parameters of a file are checked like a user's: a tampered value fails here.
    est._validate_params()
    modules = {}
    for name, value in ckpt["fitted"].items():
        if isinstance(value, dict) and "__module__" in value:
            modules[name] = value["__module__"]
            continue
        setattr(est, name, _decode(value, None))
    if not hasattr(est, "n_features_in_") or (modules and not hasattr(est, "n_components_")):
        raise ValueError(f"it holds no fitted attributes of the {cls_name}")
    for name, state in modules.items():
        module = est._build_module(est._n_inputs(), est.n_components_)
        try:
            module.load_state_dict(state)
        except RuntimeError as exc:
            # torch lists every mismatched tensor; its first line says enough.
            first = str(exc).strip().splitlines()[0]
            raise ValueError(f"the weights in {name} do not fit a {cls_name}: {first}") from exc
        device = getattr(est, "device_", torch.device("cpu"))
        setattr(est, name, module.to(device).eval())
    try:
        check_is_fitted(est)
    except NotFittedError:
        raise ValueError(f"it holds no fitted attributes of the {cls_name}") from None
    return est


def save(estimator, path):
    """Write a fitted estimator to ``path`` as a weights-only checkpoint.

    Parameters
    ----------
    estimator : nlica estimator
        A fitted :class:`~nlica.FastICA`, :class:`~nlica.TCL`, :class:`~nlica.PCL`,
        :class:`~nlica.SlowVAE` or :class:`~nlica.IVAE`. Callbacks are not stored.
    path : str or path-like
        Destination file.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    TypeError
        If ``estimator`` is not an nlica estimator, or ``path`` is neither a file name nor
        a binary file object.
    CheckpointWriteError
        If the file cannot be written (its directory does not exist, ``path`` is a
        directory, no permission); an ``OSError`` and a ``ValueError``.
    ValueError
        If a parameter or attribute cannot be stored (a callable ``fun``, for example).

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
    if not _is_estimator(estimator):
        raise TypeError(
            "estimator must be a fitted nlica estimator (FastICA, TCL, PCL, SlowVAE or IVAE); "
            "got "
            f"{type(estimator).__module__}.{type(estimator).__name__}."
        )
    _check_path_type(path, "w")
    ckpt = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "versions": {
            "nlica": __version__,
            "torch": str(torch.__version__),
            "sklearn": sklearn.__version__,
        },
        "estimator": _to_checkpoint(estimator),
    }
    where = _describe(path)
    if _is_pathlike(path):
        target = Path(os.fsdecode(path))
        # torch.save reports these as RuntimeErrors from its C++ writer; say what is wrong.
        if target.is_dir():
            raise CheckpointWriteError(
                errno.EISDIR,
                f"cannot save the checkpoint to {where}: it is a directory; give a file "
                f"name such as {str(target / 'model.pt')!r}",
            )
        if not target.parent.is_dir():
            raise CheckpointWriteError(
                errno.ENOENT,
                f"cannot save the checkpoint to {where}: the directory {str(target.parent)!r} "
                "does not exist; create it first",
            )
    try:
        torch.save(ckpt, path)
    except (OSError, RuntimeError) as exc:
        raise CheckpointWriteError(
            f"cannot save the checkpoint to {where}: {type(exc).__name__}: {exc}"
        ) from exc


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
    CheckpointNotFoundError
        If ``path`` does not exist (a ``FileNotFoundError`` and a ``ValueError``).
    ValueError
        If the file is not an nlica checkpoint, is damaged or tampered with, or was
        written by a newer nlica.
    TypeError
        If ``path`` is neither a file name nor a binary file object.

    Warns
    -----
    UserWarning
        When the checkpoint was written by another version of nlica, torch or scikit-learn.

    Examples
    --------
    >>> load("/nonexistent.pt")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    CheckpointNotFoundError: ...
    >>> try:
    ...     load("/nonexistent.pt")
    ... except FileNotFoundError:  # also a ValueError
    ...     print("no such file")
    no such file
    """
    _check_path_type(path, "r")
    where = _describe(path)
    if _is_pathlike(path):
        target = Path(os.fsdecode(path))
        if not target.exists():
            raise CheckpointNotFoundError(
                errno.ENOENT,
                f"cannot load {where}: no such file (check the path, or write the checkpoint "
                "first with est.save(path))",
                str(target),
            )
        if target.is_dir():
            raise ValueError(
                f"cannot load {where}: it is a directory, not a checkpoint file written by "
                "est.save(path)."
            )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        # weights_only refuses pickled code, so anything unreadable lands here.
        detail = " ".join(str(exc).split())[:200]
        raise ValueError(
            f"{where} is not an nlica checkpoint: it could not be read as a weights-only "
            f"torch file ({type(exc).__name__}: {detail})."
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != _FORMAT:
        raise ValueError(
            f"{where} is not an nlica checkpoint: it has no nlica format marker (write one "
            "with est.save(path) or nlica.io.save)."
        )
    version = ckpt.get("format_version")
    if not is_int(version) or version < 1:
        raise ValueError(
            f"{where} is a damaged nlica checkpoint: its format_version is {version!r}, "
            "expected an integer >= 1."
        )
    if version > _FORMAT_VERSION:
        raise ValueError(
            f"{where} was written by a newer nlica (checkpoint format {version}, this nlica "
            f"reads up to {_FORMAT_VERSION}); upgrade nlica to load it."
        )
    stored = ckpt.get("versions")
    if not isinstance(stored, dict):
        raise ValueError(
            f"{where} is a damaged nlica checkpoint: its versions entry should be a dict of "
            f"library versions; got {type(stored).__name__}."
        )
    current = {
        "nlica": __version__,
        "torch": str(torch.__version__),
        "sklearn": sklearn.__version__,
    }
    differ = {k: (stored.get(k), v) for k, v in current.items() if stored.get(k) != v}
    if differ:
        detail = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in differ.items())
        warnings.warn(
            f"{where} was saved with other library versions ({detail}); results may differ.",
            UserWarning,
            stacklevel=2,
        )
    if "estimator" not in ckpt:
        raise ValueError(f"{where} is a damaged nlica checkpoint: it has no estimator entry.")
    try:
        return _from_checkpoint(ckpt["estimator"])
    except (ValueError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
        # A tampered or truncated entry; the message says which part is wrong.
        raise ValueError(
            f"{where} is a damaged nlica checkpoint: {type(exc).__name__}: {exc}."
        ) from exc
