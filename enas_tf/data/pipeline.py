"""Image splits and the tf.data pipelines that feed the training loops.

Images stay in memory as they came (uint8 pixels, or float32 values) and are
normalised, padded, cropped and flipped inside ``tf.data`` (parallel map, prefetch), so
no Python runs per step. ``ImageSplits.from_arrays`` / ``from_tf_data`` take a user's
own data (``enas_tf.data.arrays``).
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import tensorflow as tf

from enas_tf.data.arrays import arrays_for_splits, arrays_of_datasets


CUTOUT_RULES = ("corner", "centre")


def cutout(image: tf.Tensor, size: int, corner: tf.Tensor) -> tf.Tensor:
    """Zeroes the ``size`` x ``size`` patch whose top-left pixel is ``corner`` (row, col;
    it may lie outside the image).

    The patch is clipped at the image border, so patches near the edge cover less.
    """
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    rows, cols = tf.range(height)[:, None], tf.range(width)[None, :]
    inside = ((rows >= corner[0]) & (rows < corner[0] + size)
              & (cols >= corner[1]) & (cols < corner[1] + size))
    return tf.where(inside[..., None], tf.zeros_like(image), image)


@dataclasses.dataclass(frozen=True)
class PipelineOptions:
    """How ``tf.data`` runs the input pipelines; -1 lets ``tf.data`` autotune the value.

    ``parallel_calls`` is the parallelism of the decode/augment map, ``prefetch`` the
    number of batches prepared ahead of the step, ``threads`` the size of a private
    thread pool (0: TensorFlow's shared pool).
    """

    parallel_calls: int = -1
    prefetch: int = -1
    threads: int = 0

    def tf_options(self) -> tf.data.Options:
        options = tf.data.Options()
        if self.threads:
            options.threading.private_threadpool_size = self.threads
        # In-memory data have no files to shard: workers split the examples.
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA)
        return options


def cutout_corner(seed: tf.Tensor, size: int, height, width, rule: str = "corner"):
    """Where a cutout patch starts and how large it is, by ``rule``: ``corner`` (ENAS:
    the top-left pixel uniform over the image) or ``centre`` (DARTS's and AutoDL's
    ``Cutout``: the centre uniform, the patch ``[c - size//2, c + size//2)``). On 32x32 with
    size 16 they mask 150 and 196 pixels on average."""
    point = tf.random.stateless_uniform([2], seed=seed, maxval=min(height, width),
                                        dtype=tf.int32) if rule == "corner" else tf.stack([
        tf.random.stateless_uniform([], seed=seed, maxval=height, dtype=tf.int32),
        tf.random.stateless_uniform([], seed=seed + 3, maxval=width, dtype=tf.int32)])
    if rule == "corner":
        return point, size
    return point - size // 2, 2 * (size // 2)


def channel_statistics(images: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (at least 1e-3) of ``images * scale``,
    accumulated in chunks so a large uint8 split is never copied whole as float64."""
    total = np.zeros(images.shape[-1])
    squares = np.zeros(images.shape[-1])
    for start in range(0, len(images), 4096):
        chunk = images[start:start + 4096].astype(np.float64) * scale
        total += chunk.sum(axis=(0, 1, 2))
        squares += np.square(chunk).sum(axis=(0, 1, 2))
    count = images.size // images.shape[-1]
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - np.square(mean), 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)


def _autotune(value: int) -> int:
    return tf.data.AUTOTUNE if value == -1 else value


class DataNotFoundError(FileNotFoundError):
    """A data set is absent and could not be fetched; the message says what to do.

    Example:

    ```python
    load_dataset("ptb", data_dir="/nowhere")
    # DataNotFoundError: /nowhere/ptb.train.txt does not exist. Penn Treebank ...
    ```
    """


@dataclasses.dataclass
class ImageSplits:
    """In-memory train/valid/test splits of an image classification data set.

    Images are arrays ``[N, H, W, C]``: uint8 pixels (read on the [0, 1] scale) or float32
    values (read as they are); labels int arrays ``[N]``. ``mean`` and ``std`` are
    per-channel statistics of the training split on that scale. ``source`` says where the
    data came from (a ``--dataset`` value, or a fingerprint of a user's arrays); a run
    records it in ``config.json`` so that resuming on other data is refused.

    Example:

    ```python
    splits = ImageSplits.from_arrays(x_train, y_train, validation_split=0.2,
                                     test=(x_test, y_test))
    splits.image_shape, splits.num_classes   # inferred: e.g. (28, 28, 1), 10
    ```

    Args:
      name: what the data are called (logs, ``config.json``).
      train, valid, test: ``(images, labels)`` pairs as above.
      num_classes: the label count.
      pad, flip: the training augmentation (padding before the random crop; flips).
      pipeline: ``tf.data`` options (parallel calls, prefetch, threads).
    """

    kind = "images"  # what a search space must model to run on these data

    name: str
    train: tuple[np.ndarray, np.ndarray]
    valid: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    num_classes: int
    pad: int = 4  # pixels of padding before the random crop; 0 disables cropping.
    flip: bool = True  # random horizontal flips (wrong for digits and text).
    pipeline: PipelineOptions = dataclasses.field(default_factory=PipelineOptions)
    source: str | None = None  # where the data came from; default: ``python:<name>``
    cutout_rule: str = "corner"  # where cutout's patch falls (``cutout_corner``)
    mean: np.ndarray = dataclasses.field(init=False)
    std: np.ndarray = dataclasses.field(init=False)

    def __post_init__(self):
        for split in ("train", "valid", "test"):
            images, labels = getattr(self, split)
            if images.ndim != 4 or len(images) != len(labels):
                raise ValueError(f"{self.name}/{split}: expected images [N, H, W, C] and N "
                                 f"labels, got {images.shape} and {labels.shape}.")
            if images.dtype not in (np.uint8, np.float32):
                raise ValueError(f"{self.name}/{split}: images must be uint8 or float32, got "
                                 f"{images.dtype} (ImageSplits.from_arrays converts others).")
        if len(self.train[0]) == 0:
            raise ValueError(f"{self.name}: the training split must not be empty.")
        self.source = self.source or f"python:{self.name}"
        self.mean, self.std = channel_statistics(self.train[0], self.scale)

    @property
    def scale(self) -> float:
        """What stored values are multiplied by before normalising: 1/255 for uint8
        pixels, 1 for float values."""
        return 1.0 / 255.0 if self.train[0].dtype == np.uint8 else 1.0

    @classmethod
    def from_arrays(cls, x, y, **kwargs) -> "ImageSplits":
        """Splits of a user's arrays: ``x`` ``[N, H, W(, C)]`` uint8 or float images, ``y``
        integer or one-hot labels; ``valid=(x, y)`` or ``validation_split`` (the last
        examples, as Keras's ``fit``), ``test=(x, y)``, ``num_classes``, ``pad``, ``flip``,
        ``name`` (``enas_tf.data.arrays.arrays_for_splits``). ``ValueError`` in one line
        naming what does not fit."""
        return cls(**arrays_for_splits(x, y, **kwargs))

    @classmethod
    def from_tf_data(cls, train, valid=None, test=None, **kwargs) -> "ImageSplits":
        """Splits read once into memory from finite ``tf.data`` datasets of ``(image,
        label)`` pairs or ``{"image", "label"}`` dicts, batched or not; ``kwargs`` as
        ``from_arrays``.

        Example:

        ```python
        train = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
        splits = ImageSplits.from_tf_data(train, valid_ds, test_ds)
        ```
        """
        return cls.from_arrays(**arrays_of_datasets(train, valid, test), **kwargs)

    def num_examples(self, split: str) -> int:
        """Images in ``split``."""
        return len(getattr(self, split)[0])

    def with_pipeline(self, pipeline: PipelineOptions) -> "ImageSplits":
        """The same splits (arrays shared, not copied) served with ``pipeline``."""
        splits = copy.copy(self)
        splits.pipeline = pipeline
        return splits

    @property
    def metric(self):
        """What architectures are measured by on these data (``enas_tf.data.metrics``)."""
        from enas_tf.data.metrics import ACCURACY

        return ACCURACY

    def for_run(self, config) -> "ImageSplits":
        """The same splits served with ``config``'s input-pipeline options and cutout
        rule."""
        splits = self.with_pipeline(PipelineOptions(
            config.data_parallel_calls, config.data_prefetch, config.data_threads))
        splits.cutout_rule = getattr(config, "cutout_rule", self.cutout_rule)
        return splits

    def steps_per_epoch(self, batch_size: int) -> int:
        """Batches in one pass over the training split."""
        return -(-len(self.train[0]) // batch_size)

    def check_batch_size(self, batch_size: int, splits=("train", "valid")) -> None:
        """Refuses a batch larger than a split, naming the sizes."""
        sizes = {split: self.num_examples(split) for split in splits}
        empty = [split for split, size in sizes.items() if size == 0]
        if empty:
            raise ValueError(f"{self.name} has no {empty[0]} split; a search needs one "
                             f"(from arrays: give valid=(x, y) or validation_split=).")
        if any(size < batch_size for size in sizes.values()):
            names = " or ".join(f"{split} ({size})" for split, size in sizes.items())
            raise ValueError(f"batch_size={batch_size} is larger than the {names} split.")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.train[0].shape[1:])

    def _normalize(self, image):
        return (tf.cast(image, tf.float32) * self.scale - self.mean) / self.std

    def _augment(self, image, seed, cutout_size: int = 0):
        """Pad ``pad`` pixels, random crop back, random horizontal flip, then optional
        cutout on the normalised image (all stateless in ``seed``)."""
        height, width, channels = self.image_shape
        if self.pad:
            image = tf.pad(image, [[self.pad, self.pad], [self.pad, self.pad], [0, 0]])
            image = tf.image.stateless_random_crop(image, [height, width, channels], seed=seed)
        if self.flip:
            image = tf.image.stateless_random_flip_left_right(image, seed=seed[::-1])
        if cutout_size:
            corner, size = cutout_corner(seed + 1, cutout_size, height, width,
                                         self.cutout_rule)
            image = cutout(image, size, corner)
        return image

    def dataset(self, split: str, batch_size: int, *, shuffle_seed: int | None = None,
                augment: bool = False, cutout_size: int = 0, repeat: bool = False,
                drop_remainder: bool = False) -> tf.data.Dataset:
        """Batched ``(images float32, labels int32)`` of one split.

        ``shuffle_seed`` shuffles deterministically (and seeds augmentation), so a resumed
        run sees the same epoch order as an uninterrupted one. ``cutout_size`` > 0 adds
        cutout to the augmentation. ``self.pipeline`` sets parallelism and prefetching.
        """
        parallel = _autotune(self.pipeline.parallel_calls)
        images, labels = getattr(self, split)
        if drop_remainder and len(images) < batch_size:
            raise ValueError(f"{self.name}/{split} has {len(images)} images, fewer than one "
                             f"batch of {batch_size}; lower the batch size.")
        ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
        if shuffle_seed is not None:
            ds = ds.shuffle(len(images), seed=shuffle_seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        if augment:
            seeds = tf.data.Dataset.random(seed=shuffle_seed or 0).batch(2)
            ds = tf.data.Dataset.zip((ds, seeds)).map(
                lambda example, seed: (
                    self._augment(self._normalize(example[0]), seed, cutout_size), example[1]),
                num_parallel_calls=parallel, deterministic=True)
        else:
            ds = ds.map(lambda image, label: (self._normalize(image), label),
                        num_parallel_calls=parallel, deterministic=True)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        return ds.prefetch(_autotune(self.pipeline.prefetch)).with_options(
            self.pipeline.tf_options())
