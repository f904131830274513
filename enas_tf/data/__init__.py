"""Data sets for search and training."""

from enas_tf.data.cifar10 import load_cifar10
from enas_tf.data.digits import load_digits
from enas_tf.data.pipeline import DataNotFoundError, ImageSplits, PipelineOptions


# (image shape, number of classes) of each data set, known without loading it.
DATASET_SHAPES = {"cifar10": ((32, 32, 3), 10), "digits": ((8, 8, 1), 10)}


def load_dataset(name: str, data_dir: str | None = None, num_valid: int | None = None,
                 download: bool = True, seed: int = 0) -> ImageSplits:
    """Loads ``cifar10`` (TFDS) or ``digits`` (offline, bundled with scikit-learn)."""
    if name == "cifar10":
        return load_cifar10(data_dir, 5000 if num_valid is None else num_valid, download)
    if name == "digits":
        return load_digits(300 if num_valid is None else num_valid, seed)
    raise ValueError(f"unknown dataset {name!r}; choose cifar10 or digits.")


__all__ = ["DATASET_SHAPES", "DataNotFoundError", "ImageSplits", "PipelineOptions", "load_cifar10", "load_digits",
           "load_dataset"]
