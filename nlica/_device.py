"""Device helpers: where a model is fitted, and where a stored model goes on this machine."""

import torch

__all__ = ["resolve_device", "usable_device"]


def usable_device(device):
    """Return where a stored model goes on this machine: its own device when it exists.

    A model fitted on ``cuda:N`` goes to the CPU where CUDA is missing, and to the current
    CUDA device where there are fewer than ``N + 1`` GPUs (a sweep's job on its fourth GPU
    still loads on a one-GPU machine).

    Parameters
    ----------
    device : str or torch.device
        The device the model was on.

    Returns
    -------
    device : torch.device
        A device that exists here.

    Examples
    --------
    >>> usable_device("cpu")
    device(type='cpu')
    """
    dev = torch.device(device)
    if dev.type != "cuda":
        return dev
    if not torch.cuda.is_available():
        return torch.device("cpu")
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        return torch.device("cuda")
    return dev


def resolve_device(device, *, check_available=True):
    """Turn a ``device`` parameter into a :class:`torch.device`.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    check_available : bool, default=True
        Whether a CUDA device must exist on this machine; False only checks the spelling
        (for a parameter that is not used, such as FastICA's ``device`` with the numpy
        backend).

    Returns
    -------
    device : torch.device
        The resolved device.

    Raises
    ------
    ValueError
        If the string is not a device, or CUDA is asked for but not available.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        dev = device
    elif device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}."
            ) from exc
    else:
        raise TypeError(
            "device must be a string ('auto', 'cpu', 'cuda' or 'cuda:N') or a torch.device; "
            f"got {device!r} of type {type(device).__name__}."
        )
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}.")
    if dev.type == "cuda" and check_available:
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False); use device='cpu' or 'auto'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible."
            )
    return dev
