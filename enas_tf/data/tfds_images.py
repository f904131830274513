"""Image classification data sets through tensorflow-datasets: CIFAR-10, CIFAR-100 and
any TFDS image data set by name (``--dataset=tfds:NAME``).

The image and label features, the split names, the image shape and the number of
classes are read from the builder's ``info``. The validation split is the last
``num_valid`` training images; the test split is TFDS's ``test`` (else ``validation``).

For CIFAR the official code holds out the tail of the five training files in order
(the last 5,000 images of ``data_batch_5``); TFDS stores the images in another order but
names each one ``train_<i>`` by its position in those files, so sorting by that index
restores the files' order (the same validation images, and the positions NAS-Bench-201's
split indices refer to).
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket

import numpy as np
from absl import logging

from enas_tf.data.arrays import default_pad, hold_out_last
from enas_tf.data.pipeline import DataNotFoundError, ImageSplits

DOWNLOAD_HOST = "www.cs.toronto.edu"  # where TFDS fetches CIFAR-10 and CIFAR-100 from
IN_FILE_ORDER = ("cifar10", "cifar100")  # TFDS ids are train_<position in the files>
MEMORY_LIMIT = 8 * 2**30  # bytes of uint8 images a data set may take in memory
PREPARE_HELP = ("Prepare it on a machine with network access (`tfds build {name} "
                "--data_dir=DIR`), copy DIR here and pass --data_dir=DIR; or try the offline "
                "quick start: --flagfile=flags/quickstart_micro.cfg")
_TITLES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}


def download_reachable(host: str = DOWNLOAD_HOST, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the CIFAR download host opens within ``timeout``."""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


@dataclasses.dataclass(frozen=True)
class TfdsImageInfo:
    """What ``--dataset=tfds:NAME`` reads of a TFDS builder, known without its data."""

    name: str
    image_key: str
    label_key: str
    image_shape: tuple[int, int, int]
    num_classes: int


def tfds_image_info(name: str, data_dir: str | None = None) -> TfdsImageInfo:
    """The image and label features of TFDS data set ``name``; a one-line error if it is
    not known to TFDS or not image classification with images of one size."""
    import tensorflow_datasets as tfds  # Deferred: importing TFDS costs seconds.

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # DatasetNotFoundError and config errors
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataNotFoundError(f"TFDS has no data set {name!r} ({first}).") from None
    features = builder.info.features
    keys = dict(features.items()) if hasattr(features, "items") else {}
    images = [k for k, f in keys.items() if isinstance(f, tfds.features.Image)]
    labels = [k for k, f in keys.items() if isinstance(f, tfds.features.ClassLabel)]
    supervised = builder.info.supervised_keys
    if supervised and len(supervised) == 2 and supervised[0] in images and supervised[1] in labels:
        images, labels = [supervised[0]], [supervised[1]]
    if not images or not labels:
        raise ValueError(f"tfds:{name} is not image classification (it has no image and "
                         f"class-label features: {', '.join(keys) or 'none'}).")
    shape = features[images[0]].shape
    if None in shape:
        raise ValueError(f"tfds:{name} has images of varying size {shape}; resize them to "
                         "one size and pass arrays (ImageSplits.from_arrays).")
    if "label" in labels:
        labels = ["label"]  # e.g. CIFAR-100's fine labels, not its coarse ones
    return TfdsImageInfo(name, images[0], labels[0], tuple(int(d) for d in shape),
                         int(features[labels[0]].num_classes))


def load_tfds_images(name: str, data_dir: str | None = None, num_valid: int = 5000,
                     download: bool = True, source: str | None = None) -> ImageSplits:
    """TFDS image data set ``name`` as splits: the last ``num_valid`` training images
    (in the files' order for CIFAR) are the validation split.

    Raises:
      DataNotFoundError: the data are not in ``data_dir`` and could not be downloaded.
    """
    info = tfds_image_info(name, data_dir)
    train, test = load_tfds_arrays(info, data_dir, download)
    train, valid = hold_out_last(*train, num_valid)
    return ImageSplits(name, train=train, valid=valid, test=test,
                       num_classes=info.num_classes, pad=default_pad(info.image_shape[:2]),
                       source=source or f"tfds:{name}")


def load_tfds_arrays(info: TfdsImageInfo, data_dir: str | None, download: bool):
    """``((train images, labels), (test images, labels))`` of a TFDS image data set,
    CIFAR's in the order of its original files."""
    import tensorflow_datasets as tfds

    name = info.name
    title = _TITLES.get(name, f"tfds:{name}")
    if data_dir is not None and not download and not os.path.isdir(data_dir):
        raise DataNotFoundError(f"data directory {data_dir!r} does not exist.")
    where = data_dir or "the default TFDS directory (~/tensorflow_datasets)"
    help_text = PREPARE_HELP.format(name=name)
    builder = tfds.builder(name, data_dir=data_dir)
    if download and name in IN_FILE_ORDER and not builder.is_prepared() and not (
            download_reachable()):
        # TFDS would retry the download for minutes before failing; say it now.
        raise DataNotFoundError(
            f"{title} is not prepared in {where} and {DOWNLOAD_HOST} cannot be reached "
            f"(no network?). {help_text}")
    try:
        split_names = _split_names(builder)
        splits = tfds.load(name, split=list(split_names), data_dir=data_dir, download=download)
    except DataNotFoundError:
        raise
    except Exception as error:  # TFDS raises assorted types for absent/undownloadable data.
        raise DataNotFoundError(
            f"{title} is not prepared in {where} and could not be "
            f"{'downloaded' if download else 'loaded (download disabled)'}: "
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}. "
            f"{help_text}") from None
    _check_memory(info, builder)
    arrays = [_to_arrays(dataset, info) for dataset in splits]
    if name in IN_FILE_ORDER:
        arrays = [_in_file_order(*split) for split in arrays]
    else:
        arrays = [split[:2] for split in arrays]
    train = arrays[0]
    test = arrays[1] if len(arrays) > 1 else (train[0][:0], train[1][:0])
    return train, test


def _split_names(builder) -> tuple[str, ...]:
    """``train`` and the test split (``test``, else ``validation``) of a builder; a
    builder not prepared yet (its splits unknown) is asked for ``train`` and ``test``."""
    known = set(builder.info.splits) if builder.info.splits else set()
    if not known:
        return ("train", "test")
    if "train" not in known:
        raise ValueError(f"tfds:{builder.name} has no train split (it has "
                         f"{', '.join(sorted(known))}).")
    test = next((s for s in ("test", "validation") if s in known), None)
    return ("train", test) if test else ("train",)


def _check_memory(info: TfdsImageInfo, builder) -> None:
    """Refuses a data set whose images would not fit in memory (splits are kept there)."""
    try:
        count = sum(split.num_examples for split in builder.info.splits.values())
    except Exception:  # no split information: nothing to check
        return
    size = count * int(np.prod(info.image_shape))
    if size > MEMORY_LIMIT:
        raise ValueError(f"tfds:{info.name} holds {count:,} images of "
                         f"{'x'.join(map(str, info.image_shape))} ({size / 2**30:.1f} GiB); "
                         f"image splits are kept in memory, at most "
                         f"{MEMORY_LIMIT / 2**30:.0f} GiB.")


def _in_file_order(images, labels, ids) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels sorted by their position in the original CIFAR files
    (TFDS ids ``train_00042`` / ``test_00042``); unchanged, with a warning, if the ids
    are not of that form (e.g. TFDS' random mock data)."""
    found = [re.fullmatch(r"(?:train|test)_(\d+)", i.decode() if isinstance(i, bytes) else i)
             for i in ids]
    if not all(found):
        logging.warning("CIFAR example ids are not train_<index>; the splits keep TFDS' "
                        "order, so the validation images differ from the official ones.")
        return images, labels
    order = np.argsort([int(m.group(1)) for m in found], kind="stable")
    return images[order], labels[order]


def _to_arrays(dataset, info: TfdsImageInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Materialises the dataset as numpy (images, labels, ids), 10k examples at a time.
    (``tfds.load(batch_size=-1)`` aborts on generator-backed data such as TFDS' mock.)"""
    import tensorflow_datasets as tfds

    batches = list(tfds.as_numpy(dataset.batch(10_000)))
    if not batches:
        shape = (0, *info.image_shape)
        return np.zeros(shape, np.uint8), np.zeros(0, np.int32), np.zeros(0, object)
    ids = (np.concatenate([b["id"] for b in batches]) if "id" in batches[0]
           else np.arange(sum(len(b[info.label_key]) for b in batches)).astype(str))
    return (np.concatenate([b[info.image_key] for b in batches]),
            np.concatenate([b[info.label_key] for b in batches]).astype(np.int32), ids)


def load_cifar10(data_dir: str | None = None, num_valid: int = 5000,
                 download: bool = True) -> ImageSplits:
    """CIFAR-10; the last ``num_valid`` training images in the files' order (the official
    validation images for 5,000) form the validation split."""
    return load_tfds_images("cifar10", data_dir, num_valid, download, source="cifar10")


def load_cifar100(data_dir: str | None = None, num_valid: int = 5000,
                  download: bool = True) -> ImageSplits:
    """CIFAR-100 (its 100 fine labels), split as ``load_cifar10``."""
    return load_tfds_images("cifar100", data_dir, num_valid, download, source="cifar100")
