"""Shared helpers for the ``bench_*.py`` scripts: sizes, timing, environment, table, JSON.

Every benchmark prints an aligned text table whose header describes the machine, and
writes the same rows plus the environment to JSON when asked (``--json PATH``).
"""

import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "parse_sizes",
    "cpu_name",
    "n_cores",
    "environment_info",
    "format_header",
    "format_table",
    "write_json",
    "call_catching_convergence",
    "median_time",
]


def parse_sizes(text):
    """Parse ``"10000x8,200000x32"`` into ``[(10000, 8), (200000, 32)]``.

    Parameters
    ----------
    text : str
        Comma-separated ``ROWSxCOLS`` items; ``_`` may group digits (``1_000_000x64``).

    Returns
    -------
    sizes : list of tuple of int
        ``(n_samples, n_features)`` pairs in the given order.
    """
    sizes = []
    for item in text.split(","):
        item = item.strip().lower().replace("_", "")
        if not item:
            continue
        try:
            rows, cols = item.split("x")
            size = (int(rows), int(cols))
        except ValueError as exc:
            raise ValueError(f"bad size {item!r}; expected ROWSxCOLS, e.g. 10000x8") from exc
        if size[0] < 1 or size[1] < 1:
            raise ValueError(f"bad size {item!r}; both numbers must be positive")
        sizes.append(size)
    if not sizes:
        raise ValueError("no sizes given")
    return sizes


def cpu_name():
    """Return the CPU's model name.

    Returns
    -------
    name : str
        ``model name`` from ``/proc/cpuinfo`` where available, else
        ``platform.processor()``, else ``"unknown CPU"``.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def n_cores():
    """Return the number of CPU cores this process may run on.

    Returns
    -------
    n : int
        ``len(os.sched_getaffinity(0))`` where supported, else ``os.cpu_count()``.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {k: pool.get(k) for k in ("user_api", "internal_api", "num_threads", "version")}
        for pool in threadpool_info()
    ]


def environment_info(gpu=False):
    """Describe the machine and the library versions.

    Parameters
    ----------
    gpu : bool, default=False
        Also record the CUDA device's name and torch's CUDA version.

    Returns
    -------
    info : dict
        JSON-serialisable: python, platform, cpu, cores, numpy / sklearn / torch / nlica
        versions, torch's CPU thread count, the BLAS thread pools, and the GPU when asked.
    """
    import sklearn

    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cores": n_cores(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "blas": _blas_info(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        if gpu and torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name()
            info["cuda"] = torch.version.cuda
    except ImportError:
        info["torch"] = None
    try:
        import nlica

        info["nlica"] = nlica.__version__
    except ImportError:
        info["nlica"] = None
    return info


def format_header(title, info, extra=None):
    """Format the lines printed above a results table.

    Parameters
    ----------
    title : str
        First line.
    info : dict
        Output of :func:`environment_info`.
    extra : dict, optional
        More ``key: value`` pairs for the last header line (e.g. the settings).

    Returns
    -------
    header : str
        Several lines, without a trailing newline.
    """
    blas = ", ".join(
        f"{p['internal_api']} {p['version']} ({p['num_threads']} threads)"
        for p in info.get("blas", [])
        if p.get("user_api") == "blas"
    )
    lines = [
        title,
        f"CPU: {info['cpu']} | cores used: {info['cores']}" + (f" | BLAS: {blas}" if blas else ""),
        f"python {info['python']} | numpy {info['numpy']} | sklearn {info['sklearn']}"
        f" | torch {info.get('torch')} ({info.get('torch_threads')} threads)"
        f" | nlica {info.get('nlica')}",
    ]
    if info.get("gpu"):
        lines.append(f"GPU: {info['gpu']} (CUDA {info.get('cuda')})")
    if extra:
        lines.append(" | ".join(f"{k}: {v}" for k, v in extra.items()))
    return "\n".join(lines)


def _cell(value, fmt):
    if value is None:
        return "-"
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return format(value, fmt) if fmt else str(value)


def format_table(rows, columns):
    """Format rows as an aligned text table.

    Parameters
    ----------
    rows : list of dict
        One dict per row; a missing key or ``None`` prints as ``-``.
    columns : list of tuple
        ``(key, heading, fmt)`` per column; ``fmt`` is a format spec such as ``".3f"``
        (right-aligned) or ``""`` for ``str`` (left-aligned).

    Returns
    -------
    table : str
        Heading line, a rule, then one line per row, without a trailing newline.
    """
    cells = [[_cell(row.get(key), fmt) for key, _, fmt in columns] for row in rows]
    headings = [heading for _, heading, _ in columns]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headings)]
    numeric = [bool(fmt) for _, _, fmt in columns]

    def line(values):
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)
        ).rstrip()

    out = [line(headings), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in cells)
    return "\n".join(out)


def _to_jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def write_json(path, payload):
    """Write ``payload`` as indented JSON, creating parent folders.

    Parameters
    ----------
    path : str or path-like
        Output file.
    payload : dict
        Rows and environment; numpy scalars become Python numbers and NaN becomes null.

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(_to_jsonable(payload), fh, indent=2)
        fh.write("\n")
    return path


def _is_convergence_warning(w):
    from sklearn.exceptions import ConvergenceWarning

    return issubclass(w.category, ConvergenceWarning) or "did not converge" in str(w.message)


def call_catching_convergence(func, *args, **kwargs):
    """Call ``func`` with every warning captured instead of printed.

    Parameters
    ----------
    func : callable
        The call to make.
    *args, **kwargs
        Its arguments.

    Returns
    -------
    result : object
        ``func``'s return value.
    converged : bool
        False when a ``ConvergenceWarning`` (or a warning saying "did not converge", as
        python-picard issues) was raised.
    other_warnings : list of str
        Messages of the other warnings, for the record.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = func(*args, **kwargs)
    converged = not any(_is_convergence_warning(w) for w in caught)
    others = sorted({str(w.message) for w in caught if not _is_convergence_warning(w)})
    return result, converged, others


def median_time(func, repeats=1, sync=None):
    """Time ``func()`` ``repeats`` times and return the median and the first result.

    Parameters
    ----------
    func : callable
        Called with no arguments; its warnings are captured (see
        :func:`call_catching_convergence`).
    repeats : int, default=1
        Number of timed calls.
    sync : callable, optional
        Called before each clock stop (e.g. ``torch.cuda.synchronize``).

    Returns
    -------
    seconds : float
        Median wall-clock time over the repeats.
    result : object
        Return value of the first call.
    converged : bool
        False if any call raised a convergence warning.
    other_warnings : list of str
        Other warning messages seen in any call.
    """
    times, first, converged, others = [], None, True, set()
    for i in range(max(1, int(repeats))):
        start = time.perf_counter()
        result, ok, msgs = call_catching_convergence(func)
        if sync is not None:
            sync()
        times.append(time.perf_counter() - start)
        if i == 0:
            first = result
        converged &= ok
        others.update(msgs)
    return statistics.median(times), first, converged, sorted(others)
