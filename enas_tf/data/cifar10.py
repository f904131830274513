"""CIFAR-10 through tensorflow-datasets, split 45k/5k/10k like the official search.

The official code holds out the last 5,000 images of ``data_batch_5``, i.e. the tail of
the five training files in order. TFDS stores the training images in another order but
names each one ``train_<i>`` by its position in those files, so sorting by that index
restores the official order and the same validation images.
"""

from __future__ import annotations

import os
import re
import socket

import numpy as np
from absl import logging

from enas_tf.data.pipeline import DataNotFoundError, ImageSplits


DOWNLOAD_HOST = "www.cs.toronto.edu"  # where TFDS fetches CIFAR-10 from
PREPARE_HELP = ("Prepare it on a machine with network access (`tfds build cifar10 "
                "--data_dir=DIR`), copy DIR here and pass --data_dir=DIR; or try the offline "
                "quick start: --flagfile=flags/quickstart_micro.cfg")


def download_reachable(host: str = DOWNLOAD_HOST, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the CIFAR-10 download host opens within ``timeout``."""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_cifar10(data_dir: str | None = None, num_valid: int = 5000,
                 download: bool = True) -> ImageSplits:
    """Loads CIFAR-10; the last ``num_valid`` training images in the files' order (the
    official validation images for 5,000) form the validation split.

    Raises:
      DataNotFoundError: the data is not in ``data_dir`` and could not be downloaded.
    """
    import tensorflow_datasets as tfds  # Deferred: importing TFDS costs seconds.

    if data_dir is not None and not download and not os.path.isdir(data_dir):
        raise DataNotFoundError(f"data directory {data_dir!r} does not exist.")
    where = data_dir or "the default TFDS directory (~/tensorflow_datasets)"
    if download and not tfds.builder("cifar10", data_dir=data_dir).is_prepared() and not (
            download_reachable()):
        # TFDS would retry the download for minutes before failing; say it now.
        raise DataNotFoundError(
            f"CIFAR-10 is not prepared in {where} and {DOWNLOAD_HOST} cannot be reached "
            f"(no network?). {PREPARE_HELP}")
    try:
        train, test = tfds.load("cifar10", split=["train", "test"], data_dir=data_dir,
                                download=download)
    except Exception as error:  # TFDS raises assorted types for absent/undownloadable data.
        raise DataNotFoundError(
            f"CIFAR-10 is not prepared in {where} and could not be "
            f"{'downloaded' if download else 'loaded (download disabled)'}: "
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}. "
            f"{PREPARE_HELP}") from None
    images, labels, ids = _to_arrays(train, tfds)
    images, labels = _in_file_order(images, labels, ids)
    if num_valid >= len(images):
        raise ValueError(f"num_valid={num_valid} leaves no training images "
                         f"(the training split has {len(images)}).")
    split = len(images) - num_valid
    return ImageSplits(
        "cifar10", train=(images[:split], labels[:split]),
        valid=(images[split:], labels[split:]),
        test=_in_file_order(*_to_arrays(test, tfds)), num_classes=10)


def _in_file_order(images, labels, ids) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels sorted by their position in the original CIFAR-10 files
    (TFDS ids ``train_00042`` / ``test_00042``); unchanged, with a warning, if the ids
    are not of that form (e.g. TFDS' random mock data)."""
    found = [re.fullmatch(r"(?:train|test)_(\d+)", i.decode() if isinstance(i, bytes) else i)
             for i in ids]
    if not all(found):
        logging.warning("CIFAR-10 example ids are not train_<index>; the splits keep TFDS' "
                        "order, so the validation images differ from the official ones.")
        return images, labels
    order = np.argsort([int(m.group(1)) for m in found], kind="stable")
    return images[order], labels[order]


def _to_arrays(dataset, tfds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Materialises the dataset as numpy (images, labels, ids), 10k examples at a time.
    (``tfds.load(batch_size=-1)`` aborts on generator-backed data such as TFDS' mock.)"""
    batches = list(tfds.as_numpy(dataset.batch(10_000)))
    return (np.concatenate([b["image"] for b in batches]),
            np.concatenate([b["label"] for b in batches]).astype(np.int32),
            np.concatenate([b["id"] for b in batches]))
