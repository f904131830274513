"""Data sets for search and training."""

import os

from enas_tf.data.cifar10 import load_cifar10
from enas_tf.data.digits import load_digits
from enas_tf.data.pipeline import DataNotFoundError, ImageSplits, PipelineOptions
from enas_tf.data.text import QUICKSTART_VOCAB, TextSplits, load_ptb, load_python_docs


# (image shape, number of classes) of each data set, known without loading it; text:
# (None, vocabulary size).
DATASET_SHAPES = {"cifar10": ((32, 32, 3), 10), "digits": ((8, 8, 1), 10),
                  "ptb": (None, 10000), "python_docs": (None, QUICKSTART_VOCAB)}


def load_dataset(name: str, data_dir: str | None = None, num_valid: int | None = None,
                 download: bool = True, seed: int = 0) -> ImageSplits | TextSplits:
    """Loads ``cifar10`` (TFDS), ``digits`` (offline, bundled with scikit-learn), ``ptb``
    (the PTB text files in ``data_dir``) or ``python_docs`` (offline text, the Python
    documentation's help topics)."""
    if data_dir and os.path.exists(data_dir) and not os.path.isdir(data_dir):
        raise DataNotFoundError(f"data directory {data_dir} is a file; give the directory "
                                f"that holds the {name} data (--data_dir).")
    if data_dir and name in ("digits", "python_docs"):
        raise DataNotFoundError(f"{name} is bundled with an installed package and reads no "
                                f"data directory; drop --data_dir={data_dir}.")
    if name == "cifar10":
        return load_cifar10(data_dir, 5000 if num_valid is None else num_valid, download)
    if name == "digits":
        return load_digits(300 if num_valid is None else num_valid, seed)
    if name == "ptb":
        return load_ptb(data_dir)
    if name == "python_docs":
        return load_python_docs()
    raise ValueError(f"unknown dataset {name!r}; choose cifar10, digits, ptb or "
                     "python_docs.")


__all__ = ["DATASET_SHAPES", "DataNotFoundError", "ImageSplits", "PipelineOptions", "TextSplits",
           "load_cifar10", "load_digits", "load_dataset", "load_ptb", "load_python_docs"]
