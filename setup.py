"""enas-tf: weight-sharing neural architecture search (ENAS) for TensorFlow 2 / Keras."""

from setuptools import find_packages, setup

setup(
    name="enas-tf",
    version="0.1.0",
    description="ENAS neural architecture search for TensorFlow 2 / Keras",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["enas_tf", "enas_tf.*", "tuner", "tuner.*"]),
    # NAS-Bench-201's own split indices, packed as bit masks (enas_tf/data/nb201.py).
    package_data={"enas_tf.data": ["nb201_splits.npz"]},
    python_requires=">=3.10",
    install_requires=[
        "tensorflow-datasets>=4.9",
        "importlib_resources",  # tensorflow-datasets' download path imports it, undeclared.
        "keras>=3",
        "keras-tuner>=1.4",
        "absl-py",
        "numpy",
        "tensorboard",  # Viewing the logs every run writes; its reader is used in tests.
        "scikit-learn",  # Ships the 8x8 digits used by the offline quick start.
        "matplotlib",  # Draws cells and choice probabilities (PNG files, TensorBoard images).
    ],
    extras_require={
        # TensorFlow comes through an extra so GPU and CPU builds never clash:
        # `pip install -e .[cpu]` (CI, laptops) or `pip install -e .[gpu]`.
        "cpu": ["tensorflow-cpu>=2.16"],
        "gpu": ["tensorflow[and-cuda]>=2.16"],
        # pytest-xdist runs the suite on both cores of a CI machine (`-n 2`).
        "test": ["pytest>=7", "pytest-xdist>=3"],
        # The documentation site (docs/, mkdocs.yml): `mkdocs build --strict`.
        "docs": ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26"],
    },
)
