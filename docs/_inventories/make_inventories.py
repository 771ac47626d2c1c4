"""Write the intersphinx inventories the documentation links to (run: python make_inventories.py).

The docs build has no network, so intersphinx reads these small inventories, which list
only the targets the documentation references. Add a row when a docstring references a
new object of these projects; objects not listed simply stay unlinked.
"""

import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

# project -> (display name, base URL, [(object, role, path relative to the base URL)])
INVENTORIES = {
    "numpy": (
        "NumPy",
        "https://numpy.org/doc/stable/",
        [
            ("numpy.memmap", "class", "reference/generated/numpy.memmap.html"),
            ("numpy.ndarray", "class", "reference/generated/numpy.ndarray.html"),
        ],
    ),
    "scipy": (
        "SciPy",
        "https://docs.scipy.org/doc/scipy/",
        [
            (
                "scipy.optimize.linear_sum_assignment",
                "function",
                "reference/generated/scipy.optimize.linear_sum_assignment.html",
            ),
            ("scipy.stats.rankdata", "function", "reference/generated/scipy.stats.rankdata.html"),
        ],
    ),
    "sklearn": (
        "scikit-learn",
        "https://scikit-learn.org/stable/",
        [
            (
                "sklearn.decomposition.FastICA",
                "class",
                "modules/generated/sklearn.decomposition.FastICA.html",
            ),
            (
                "sklearn.isotonic.IsotonicRegression",
                "class",
                "modules/generated/sklearn.isotonic.IsotonicRegression.html",
            ),
            (
                "sklearn.model_selection.GridSearchCV",
                "class",
                "modules/generated/sklearn.model_selection.GridSearchCV.html",
            ),
            (
                "sklearn.pipeline.Pipeline",
                "class",
                "modules/generated/sklearn.pipeline.Pipeline.html",
            ),
            ("sklearn.utils.Bunch", "class", "modules/generated/sklearn.utils.Bunch.html"),
        ],
    ),
    "torch": (
        "PyTorch",
        "https://docs.pytorch.org/docs/stable/",
        [
            ("torch.Generator", "class", "generated/torch.Generator.html"),
            ("torch.compile", "function", "generated/torch.compile.html"),
            ("torch.device", "class", "tensor_attributes.html#torch.device"),
            ("torch.nn.Module", "class", "generated/torch.nn.Module.html"),
            ("torch.save", "function", "generated/torch.save.html"),
            ("torch.tril_indices", "function", "generated/torch.tril_indices.html"),
        ],
    ),
    "mne": (
        "MNE",
        "https://mne.tools/stable/",
        [
            ("mne.Epochs", "class", "generated/mne.Epochs.html"),
            ("mne.io.Raw", "class", "generated/mne.io.Raw.html"),
            ("mne.io.read_raw_eeglab", "function", "generated/mne.io.read_raw_eeglab.html"),
            ("mne.preprocessing.ICA", "class", "generated/mne.preprocessing.ICA.html"),
        ],
    ),
}


def write(name, project, entries):
    """Write ``NAME.inv`` in Sphinx's inventory format (version 2)."""
    header = (
        f"# Sphinx inventory version 2\n# Project: {project}\n# Version: \n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = "".join(f"{obj} py:{role} 1 {path} -\n" for obj, role, path in sorted(entries))
    (HERE / f"{name}.inv").write_bytes(header.encode() + zlib.compress(body.encode()))


if __name__ == "__main__":
    for name, (project, _, entries) in INVENTORIES.items():
        write(name, project, entries)
