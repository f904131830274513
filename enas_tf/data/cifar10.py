"""CIFAR-10 through tensorflow-datasets, split 45k/5k/10k like the official search."""

from __future__ import annotations

import os

import numpy as np

from enas_tf.data.pipeline import DataNotFoundError, ImageSplits


def load_cifar10(data_dir: str | None = None, num_valid: int = 5000,
                 download: bool = True) -> ImageSplits:
    """Loads CIFAR-10; the last ``num_valid`` training images form the validation split.

    Raises:
      DataNotFoundError: the data is not in ``data_dir`` and could not be downloaded.
    """
    import tensorflow_datasets as tfds  # Deferred: importing TFDS costs seconds.

    if data_dir is not None and not download and not os.path.isdir(data_dir):
        raise DataNotFoundError(f"data directory {data_dir!r} does not exist.")
    try:
        train, test = tfds.load("cifar10", split=["train", "test"], data_dir=data_dir,
                                download=download, as_supervised=True)
    except Exception as error:  # TFDS raises assorted types for absent/undownloadable data.
        where = data_dir or "the default TFDS directory (~/tensorflow_datasets)"
        raise DataNotFoundError(
            f"CIFAR-10 is not prepared in {where} and could not be "
            f"{'downloaded' if download else 'loaded (download disabled)'}: "
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}\n"
            "Prepare it on a machine with network access (`tfds build cifar10 "
            "--data_dir=DIR`), copy DIR here and pass --data_dir=DIR; or try the offline "
            "quick start: --flagfile=flags/quickstart_micro.cfg") from None
    images, labels = _to_arrays(train, tfds)
    if num_valid >= len(images):
        raise ValueError(f"num_valid={num_valid} leaves no training images "
                         f"(the training split has {len(images)}).")
    split = len(images) - num_valid
    return ImageSplits(
        "cifar10", train=(images[:split], labels[:split]),
        valid=(images[split:], labels[split:]),
        test=_to_arrays(test, tfds), num_classes=10)


def _to_arrays(dataset, tfds) -> tuple[np.ndarray, np.ndarray]:
    """Materialises a (image, label) dataset as numpy arrays, 10k examples at a time.
    (``tfds.load(batch_size=-1)`` aborts on generator-backed data such as TFDS' mock.)"""
    batches = list(tfds.as_numpy(dataset.batch(10_000)))
    return (np.concatenate([b[0] for b in batches]),
            np.concatenate([b[1] for b in batches]).astype(np.int32))
