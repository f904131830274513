"""Downsampled ImageNet at 16x16 (Chrabaszcz et al., 2017) from its pickle files, as
NAS-Bench-201 reads it: ``train_data_batch_1`` .. ``train_data_batch_10`` and
``val_data``, each a pickled dict of ``data`` (rows of 768 bytes: the red, green and
blue 16x16 planes) and ``labels`` (1..1000). ImageNet16-120 keeps the images of labels
1..120 (as 0..119), in file order: 151,700 training and 6,000 validation images.

Example:

```python
train, val = load_imagenet16_arrays("data/ImageNet16", num_classes=120)
```
"""

from __future__ import annotations

import os
import pickle

import numpy as np

from enas_tf.data.arrays import hold_out_last
from enas_tf.data.pipeline import DataNotFoundError, ImageSplits

TRAIN_FILES = tuple(f"train_data_batch_{i}" for i in range(1, 11))
VALID_FILE = "val_data"
HELP = ("ImageNet16 is the 16x16 downsampled ImageNet of Chrabaszcz et al. "
        "(image-net.org, 'Downsampled ImageNet 16x16', Imagenet16_train.zip and "
        "Imagenet16_val.zip); unpack train_data_batch_1..10 and val_data into --data_dir")


def read_batch_file(path: str) -> tuple[np.ndarray, np.ndarray]:
    """One pickle file as HWC uint8 images and its labels (1-based, as stored)."""
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="latin1")
        data, labels = np.asarray(entry["data"], np.uint8), np.asarray(entry["labels"])
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as error:
        raise DataNotFoundError(f"{path} is not an ImageNet16 batch file ({type(error).__name__}"
                                f": {error}). {HELP}.") from None
    if data.ndim != 2 or data.shape[1] != 3 * 16 * 16 or len(data) != len(labels):
        raise DataNotFoundError(f"{path} holds data of shape {data.shape} and {len(labels)} "
                                f"labels, not rows of 768 pixels and one label each. {HELP}.")
    return data.reshape(-1, 3, 16, 16).transpose(0, 2, 3, 1), labels


def load_imagenet16_arrays(data_dir: str | None, num_classes: int = 120):
    """``((train images, labels), (val images, labels))`` of ImageNet16-``num_classes``:
    labels 1..``num_classes`` kept, as 0-based labels, in file order."""
    if not data_dir:
        raise DataNotFoundError(f"--data_dir must name the directory of the ImageNet16 "
                                f"files. {HELP}.")
    missing = [name for name in (*TRAIN_FILES, VALID_FILE)
               if not os.path.isfile(os.path.join(data_dir, name))]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3
                                          else "")
        raise DataNotFoundError(f"{data_dir} lacks {shown}. {HELP}.")
    splits = []
    for names in (TRAIN_FILES, (VALID_FILE,)):
        parts = [read_batch_file(os.path.join(data_dir, name)) for name in names]
        images = np.concatenate([images for images, _ in parts])
        labels = np.concatenate([labels for _, labels in parts])
        keep = (labels >= 1) & (labels <= num_classes)
        splits.append((images[keep], (labels[keep] - 1).astype(np.int32)))
    return splits[0], splits[1]


def load_imagenet16(data_dir: str | None, num_valid: int = 5000,
                    num_classes: int = 120) -> ImageSplits:
    """ImageNet16-120 with the last ``num_valid`` training images as the validation split
    and the 6,000 validation images as the test split (NAS-Bench-201's own halves:
    ``nb201:ImageNet16-120``)."""
    train, test = load_imagenet16_arrays(data_dir, num_classes)
    train, valid = hold_out_last(*train, num_valid)
    return ImageSplits(f"imagenet16-{num_classes}", train=train, valid=valid, test=test,
                       num_classes=num_classes, pad=2, source=f"imagenet16-{num_classes}")
