"""NAS-Bench-201's own splits of its three data sets (``--dataset=nb201:NAME``).

The benchmark's accuracies were measured on these splits (AutoDL-Projects
``configs/nas-benchmark/*.txt``; shipped here as bit masks in ``nb201_splits.npz``):

- ``nb201:cifar10-valid``: CIFAR-10's training images in file order, halved: 25,000 to
  train, 25,000 to validate; the test split is CIFAR-10's test set.
- ``nb201:cifar100``: all 50,000 training images; CIFAR-100's test set halved into the
  benchmark's validation (``xvalid``) and test (``xtest``) halves of 5,000.
- ``nb201:ImageNet16-120``: all 151,700 training images; the 6,000 validation images
  halved into ``xvalid`` and ``xtest`` of 3,000.

A search trains the weights on the training split and the architecture on the
validation split, as AutoDL's ``get_nas_search_loaders`` does for each data set.

Example:

```python
splits = load_nb201("cifar100", data_dir="~/tensorflow_datasets")
```
"""

from __future__ import annotations

import os

import numpy as np

from enas_tf.data.pipeline import ImageSplits

SPLITS_FILE = os.path.join(os.path.dirname(__file__), "nb201_splits.npz")
# --dataset=nb201:NAME -> the benchmark's data set name (``--benchmark_dataset``).
DATASETS = ("cifar10-valid", "cifar100", "ImageNet16-120")


def split_mask(key: str) -> np.ndarray:
    """The membership mask of one packed split: ``cifar10_train`` (True: the benchmark's
    training half), ``cifar100_xvalid`` / ``imagenet16_xvalid`` (True: the validation
    half of the test images)."""
    with np.load(SPLITS_FILE) as packed:
        sizes = dict(zip(("cifar10_train", "cifar100_xvalid", "imagenet16_xvalid"),
                         packed["sizes"]))
        return np.unpackbits(packed[key])[:sizes[key]].astype(bool)


def split_indices(key: str) -> tuple[np.ndarray, np.ndarray]:
    """The sorted indices in and out of a packed split (``train``/``valid`` or
    ``xvalid``/``xtest``)."""
    mask = split_mask(key)
    return np.flatnonzero(mask), np.flatnonzero(~mask)


def _halve(images, labels, key: str, what: str):
    mask = split_mask(key)
    if len(images) != len(mask):
        raise ValueError(f"NAS-Bench-201's split indexes {len(mask):,} {what}, but "
                         f"{len(images):,} were loaded; it needs the whole data set.")
    return (images[mask], labels[mask]), (images[~mask], labels[~mask])


def load_nb201(name: str, data_dir: str | None = None, download: bool = True) -> ImageSplits:
    """The benchmark's splits of ``name`` (one of ``DATASETS``)."""
    from enas_tf.data.imagenet16 import load_imagenet16_arrays
    from enas_tf.data.tfds_images import load_tfds_arrays, tfds_image_info

    if name == "ImageNet16-120":
        train, held = load_imagenet16_arrays(data_dir, 120)
        valid, test = _halve(*held, "imagenet16_xvalid", "ImageNet16-120 validation images")
        num_classes, pad = 120, 2
    elif name in ("cifar10-valid", "cifar100"):
        tfds_name = "cifar10" if name == "cifar10-valid" else "cifar100"
        info = tfds_image_info(tfds_name, data_dir)
        train, test = load_tfds_arrays(info, data_dir, download)
        if name == "cifar10-valid":
            train, valid = _halve(*train, "cifar10_train", "CIFAR-10 training images")
        else:
            valid, test = _halve(*test, "cifar100_xvalid", "CIFAR-100 test images")
        num_classes, pad = info.num_classes, 4
    else:
        raise ValueError(f"NAS-Bench-201 has no data set {name!r}; it has "
                         f"{', '.join(DATASETS)}.")
    return ImageSplits(f"nb201:{name}", train=train, valid=valid, test=test,
                       num_classes=num_classes, pad=pad, source=f"nb201:{name}")
