"""A user's own images made ready for ``ImageSplits``: numpy arrays or ``tf.data``
datasets (``ImageSplits.from_arrays`` / ``from_tf_data`` build the splits from them).

Takes the shapes Keras users have: ``[N, H, W]`` or ``[N, H, W, C]`` images of uint8
pixels or floats, integer or one-hot labels, any number of classes. The image shape,
channels and classes are inferred; normalisation statistics come from the training
split (``ImageSplits``). ``source`` is a fingerprint of the arrays, so a run resumed on
other arrays is refused rather than silently mixed.

Example:

```python
from sklearn.datasets import load_digits
digits = load_digits()
splits = ImageSplits.from_arrays(digits.images, digits.target, validation_split=0.2)
Search(SearchConfig.for_space("darts", batch_size=32), splits).run()
```

Arguments and errors: ``ImageSplits.from_arrays``, documented with ``arrays_for_splits``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

Pair = tuple[Any, Any]


def arrays_for_splits(x, y, *, valid: Pair | None = None,
                      validation_split: float | None = None, test: Pair | None = None,
                      num_classes: int | None = None, name: str = "arrays",
                      pad: int | None = None, flip: bool = True) -> dict[str, Any]:
    """The keyword arguments of ``ImageSplits`` for a user's arrays: checked, converted
    and split (``train``, ``valid``, ``test``, ``num_classes``, ``pad``, ``flip``,
    ``name``, ``source``).

    Args:
      x, y: the training images (``[N, H, W]`` or ``[N, H, W, C]``; uint8 pixels 0..255,
        or floats, kept as they are) and labels (``[N]`` or ``[N, 1]`` integers, or
        ``[N, K]`` one-hot).
      valid: ``(x, y)`` of a validation split (what a search scores architectures on).
      validation_split: instead of ``valid``, the fraction of ``x`` held out as the
        validation split: its last examples, before any shuffling, as in Keras's
        ``fit(validation_split=...)``.
      test: ``(x, y)`` of a test split (what a final training reports).
      num_classes: default: the one-hot width, or the largest label + 1.
      name: shown in logs.
      pad: pixels of padding before the random crop of the augmentation (0: no crop);
        default: 4 for images of 32 pixels and more, else a side's eighth (at least 1).
      flip: random horizontal flips in the augmentation (off for digits or text).

    Raises:
      ValueError: one line naming what does not fit (shapes, labels, split sizes).
    """
    if valid is not None and validation_split is not None:
        raise ValueError("give valid=(x, y) or validation_split, not both.")
    images, labels = _pair(x, y, "")
    if validation_split is not None:
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"validation_split must be in (0, 1), got {validation_split}.")
        cut = len(images) - int(round(len(images) * validation_split))
        if cut <= 0 or cut >= len(images):
            raise ValueError(f"validation_split={validation_split} of {len(images)} images "
                             "leaves an empty split.")
        valid = (images[cut:], labels[cut:])
        images, labels = images[:cut], labels[:cut]
    splits = {"train": (images, labels)}
    for split, pair in (("valid", valid), ("test", test)):
        if pair is None:
            splits[split] = (images[:0], labels[:0])
            continue
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"{split} must be an (x, y) pair of arrays.")
        splits[split] = _pair(*pair, f"{split} ")
    shapes = {split: images.shape[1:] for split, (images, _) in splits.items() if len(images)}
    if len(set(shapes.values())) > 1:
        raise ValueError("the splits' images differ in shape: " + ", ".join(
            f"{split} {'x'.join(map(str, shape))}" for split, shape in shapes.items()) + ".")
    dtypes = {images.dtype for images, _ in splits.values()}
    if len(dtypes) > 1:  # uint8 pixels in one split, floats in another: read all as floats
        splits = {split: (images.astype(np.float32), labels)
                  for split, (images, labels) in splits.items()}
    num_classes = _num_classes(num_classes, y, splits)
    if pad is None:
        pad = default_pad(splits["train"][0].shape[1:3])
    return dict(name=name, train=splits["train"], valid=splits["valid"], test=splits["test"],
                num_classes=num_classes, pad=pad, flip=flip,
                source=f"arrays:{fingerprint(splits)}")


def default_pad(image_size) -> int:
    """Padding before the random crop for images of ``image_size`` (height, width): 4
    pixels from 32 up (CIFAR), else a side's eighth, at least 1 (digits 1, 16x16 2)."""
    side = min(int(d) for d in image_size)
    return 4 if side >= 32 else max(1, side // 8)


def hold_out_last(images, labels, count: int):
    """``(train, valid)`` pairs: the last ``count`` examples validate (``num_valid``);
    ``ValueError`` if none would be left to train on."""
    if count >= len(images):
        raise ValueError(f"num_valid={count} leaves no training images "
                         f"(the training split has {len(images)}).")
    cut = len(images) - count
    return (images[:cut], labels[:cut]), (images[cut:], labels[cut:])


def arrays_of_datasets(train, valid=None, test=None) -> dict[str, Any]:
    """``x``, ``y``, ``valid`` and ``test`` (``arrays_for_splits``'s) read once into
    memory from finite ``tf.data`` datasets."""
    x, y = dataset_arrays(train, "train")
    pairs = {split: dataset_arrays(ds, split) for split, ds in (("valid", valid), ("test", test))
             if ds is not None}
    return dict(x=x, y=y, valid=pairs.get("valid"), test=pairs.get("test"))


def dataset_arrays(dataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The (images, labels) of a finite ``tf.data`` dataset as numpy arrays."""
    import tensorflow as tf

    if not isinstance(dataset, tf.data.Dataset):
        raise ValueError(f"{split} must be a tf.data.Dataset, got {type(dataset).__name__}.")
    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise ValueError(f"the {split} dataset repeats forever; pass it without .repeat().")
    spec = dataset.element_spec
    if isinstance(spec, dict):
        if not {"image", "label"} <= set(spec):
            raise ValueError(f"the {split} dataset's dicts need 'image' and 'label' keys, "
                             f"have {', '.join(sorted(spec))}.")
        dataset = dataset.map(lambda example: (example["image"], example["label"]))
    elif not (isinstance(spec, tuple) and len(spec) == 2):
        raise ValueError(f"the {split} dataset must yield (image, label) pairs.")
    image_spec, label_spec = dataset.element_spec
    # Batched: [B, H, W, C], or [B, H, W] grey images whose batch dimension is unknown.
    batched = image_spec.shape.rank == 4 or (
        image_spec.shape.rank == 3 and image_spec.shape[0] is None and label_spec.shape.rank)
    if not batched:
        dataset = dataset.batch(1024)
    images, labels = [], []
    for batch_images, batch_labels in dataset.as_numpy_iterator():
        images.append(batch_images)
        labels.append(batch_labels)
    if not images:
        raise ValueError(f"the {split} dataset is empty.")
    return np.concatenate(images), np.concatenate(labels)


def fingerprint(splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """A short hash of every split's images and labels (and shapes)."""
    digest = hashlib.sha1()
    for split in ("train", "valid", "test"):
        for array in splits[split]:
            digest.update(f"{split}{array.shape}{array.dtype}".encode())
            digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()[:12]


def _pair(x, y, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Checked images and labels of one split (``prefix``: ``""``, ``"valid "``, ...)."""
    images, labels = _images(x, f"{prefix}x"), _labels(y, f"{prefix}y")
    if len(images) != len(labels):
        raise ValueError(f"{prefix}x has {len(images)} images but {prefix}y has "
                         f"{len(labels)} labels.")
    return images, labels


def _images(x, what: str) -> np.ndarray:
    images = np.asarray(x)
    if images.ndim == 3:  # [N, H, W]: one channel
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"{what} must be images [N, H, W] or [N, H, W, C], got shape "
                         f"{images.shape}.")
    if min(images.shape[1:3]) < 1 or images.shape[3] < 1:
        raise ValueError(f"{what} has empty images (shape {images.shape}).")
    if images.dtype == np.uint8:
        return images
    if images.dtype == bool or np.issubdtype(images.dtype, np.integer):
        if len(images) and (images.min() < 0 or images.max() > 255):
            raise ValueError(f"{what} holds integers outside 0..255 ({images.min()}.."
                             f"{images.max()}); give uint8 pixels or floats.")
        return images.astype(np.uint8)
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"{what} must hold numbers, got {images.dtype}.")
    images = images.astype(np.float32)
    if len(images) and not np.isfinite(images).all():
        raise ValueError(f"{what} holds NaN or infinite values.")
    return images


def _labels(y, what: str) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    elif labels.ndim == 2:  # one-hot (or class probabilities): the largest entry
        labels = labels.argmax(axis=1)
    if labels.ndim != 1:
        raise ValueError(f"{what} must be labels [N], [N, 1] or one-hot [N, K], got shape "
                         f"{labels.shape}.")
    if labels.dtype.kind == "f":
        if len(labels) and not np.all(labels == np.round(labels)):
            raise ValueError(f"{what} holds fractional labels; give class indices.")
    elif labels.dtype.kind not in "iub":
        raise ValueError(f"{what} must hold class indices, got {labels.dtype} (map class "
                         "names to 0..K-1 first).")
    labels = labels.astype(np.int64)
    if len(labels) and labels.min() < 0:
        raise ValueError(f"{what} holds negative labels ({labels.min()}).")
    return labels.astype(np.int32)


def _num_classes(given: int | None, y, splits) -> int:
    largest = max(int(labels.max()) for _, labels in splits.values() if len(labels))
    one_hot = np.ndim(y) == 2 and np.shape(y)[1] > 1
    inferred = int(np.shape(y)[1]) if one_hot else largest + 1
    num_classes = inferred if given is None else int(given)
    if num_classes < 2:
        raise ValueError(f"classification needs at least 2 classes, got {num_classes}.")
    if largest >= num_classes:
        raise ValueError(f"a label is {largest} but num_classes={num_classes}.")
    return num_classes

