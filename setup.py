"""Packaging for nlica."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
version = {}
exec((HERE / "nlica" / "_version.py").read_text(), version)

setup(
    name="nlica",
    version=version["__version__"],
    description="Nonlinear and linear ICA, scikit-learn API: FastICA, TCL, PCL, SlowVAE, IVAE",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.10",
    packages=find_packages(include=["nlica", "nlica.*"]),
    include_package_data=True,
    package_data={"nlica": ["data/*.md", "data/eeglab_sample/*", "data/audio/*"]},
    install_requires=[
        "numpy>=1.23",
        "scipy>=1.9",
        "scikit-learn>=1.6",
        "torch>=2.1",
        "threadpoolctl>=3.1",
    ],
    extras_require={
        # mne: the integration tests and the doctests of nlica.integrations.mne run in CI.
        "test": [
            "pytest>=7",
            "hypothesis>=6",
            "ruff>=0.5",
            "python-picard>=0.7",
            "pandas>=1.5",
            "mne>=1.4",
        ],
        "plot": ["matplotlib>=3.5"],
        "progress": ["tqdm>=4.60"],
        "eeg": ["mne>=1.4"],
        "docs": [
            "sphinx>=7",
            "numpydoc>=1.6",
            "sphinx-gallery>=0.15",
            "matplotlib>=3.5",
            "mne>=1.4",
        ],
    },
    entry_points={"console_scripts": ["nlica=nlica.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering",
    ],
)
