"""ImageNet (ILSVRC2012) through TFDS ``imagenet2012``, streamed, for training a found
cell in the mobile setting (DARTS ``train_imagenet.py``).

Training images: a random resized crop (8%-100% of the area, aspect 3/4-4/3) to
224x224, a horizontal flip and colour jitter (brightness, contrast and saturation
factors in [0.6, 1.4], hue shifted by up to 0.2 of the circle); evaluation: the shorter
side resized to 256, the central 224x224. Both normalised with ImageNet's channel
statistics. TFDS cannot download ImageNet: put ``ILSVRC2012_img_train.tar`` and
``ILSVRC2012_img_val.tar`` in ``<data_dir>/downloads/manual`` and TFDS prepares it once.

Differences from torchvision's ``ColorJitter``: the four adjustments run in a fixed
order (torchvision shuffles it per image) and contrast blends with each channel's mean
(``tf.image.adjust_contrast``) rather than the grey image's mean.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import tensorflow as tf

from enas_tf.data.pipeline import DataNotFoundError, PipelineOptions

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
SIZE, RESIZE = 224, 256
# ILSVRC2012's split sizes, for a builder whose split information is not written yet.
SPLIT_SIZES = {"train": 1_281_167, "validation": 50_000}
MANUAL_HELP = ("TFDS cannot download ImageNet: put ILSVRC2012_img_train.tar and "
               "ILSVRC2012_img_val.tar (image-net.org) in {dir}/downloads/manual and rerun; TFDS "
               "prepares imagenet2012 there once (hours, about 150 GB)")


def random_resized_crop(image: tf.Tensor, seed: tf.Tensor, size: int = SIZE) -> tf.Tensor:
    """A crop of 8%-100% of the area and aspect 3/4-4/3, resized to ``size``."""
    begin, extent, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image), bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), seed=seed,
        min_object_covered=0.0, aspect_ratio_range=(3 / 4, 4 / 3), area_range=(0.08, 1.0),
        max_attempts=10, use_image_if_no_bounding_boxes=True)
    crop = tf.slice(image, begin, extent)
    return tf.image.resize(crop, [size, size], method="bilinear")


def color_jitter(image: tf.Tensor, seed: tf.Tensor, strength: float = 0.4,
                 hue: float = 0.2) -> tf.Tensor:
    """Brightness, contrast and saturation scaled by factors in [1 - s, 1 + s], hue
    shifted by up to ``hue``; ``image`` in [0, 1]."""
    factors = tf.random.stateless_uniform([3], seed, 1.0 - strength, 1.0 + strength)
    image = image * factors[0]
    image = tf.image.adjust_contrast(image, factors[1])
    image = tf.image.adjust_saturation(tf.clip_by_value(image, 0.0, 1.0), factors[2])
    image = tf.image.stateless_random_hue(image, hue, seed=seed + 3)
    return tf.clip_by_value(image, 0.0, 1.0)


def center_crop(image: tf.Tensor, resize: int = RESIZE, size: int = SIZE) -> tf.Tensor:
    """The shorter side resized to ``resize``, then the central ``size`` square."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = resize / tf.reduce_min(shape)
    image = tf.image.resize(image, tf.cast(tf.round(shape * scale), tf.int32),
                            method="bilinear")
    return tf.image.resize_with_crop_or_pad(image, size, size)


@dataclasses.dataclass
class StreamingImageSplits:
    """Train/test splits read from TFDS as they are used (too large for memory), with
    ImageNet's augmentation; the interface of ``ImageSplits`` the loops use.

    ``valid`` is empty: ImageNet serves the final training of a cell found on CIFAR.
    """

    name: str
    builder: object  # the prepared TFDS builder
    num_classes: int = 1000
    pipeline: PipelineOptions = dataclasses.field(default_factory=PipelineOptions)
    source: str = "imagenet2012"
    kind = "images"
    image_shape = (SIZE, SIZE, 3)
    mean, std = MEAN, STD
    _SPLITS = {"train": "train", "test": "validation"}

    @property
    def metric(self):
        from enas_tf.data.metrics import ACCURACY

        return ACCURACY

    def num_examples(self, split: str) -> int:
        if split not in self._SPLITS:
            return 0
        name = self._SPLITS[split]
        splits = self.builder.info.splits
        return int(splits[name].num_examples) if name in splits else SPLIT_SIZES[name]

    def for_run(self, config) -> "StreamingImageSplits":
        splits = copy.copy(self)
        splits.pipeline = PipelineOptions(config.data_parallel_calls, config.data_prefetch,
                                          config.data_threads)
        return splits

    def steps_per_epoch(self, batch_size: int) -> int:
        return -(-self.num_examples("train") // batch_size)

    def check_batch_size(self, batch_size: int, splits=("train", "valid")) -> None:
        for split in splits:
            if self.num_examples(split) < batch_size:
                raise ValueError(f"{self.name} has no {split} split large enough for a batch "
                                 f"of {batch_size}: it serves final training (search on "
                                 "CIFAR, then train the cell here).")

    def dataset(self, split: str, batch_size: int, *, shuffle_seed: int | None = None,
                augment: bool = False, cutout_size: int = 0, repeat: bool = False,
                drop_remainder: bool = False) -> tf.data.Dataset:
        """Batched ``(images float32 [B, 224, 224, 3], labels int32)`` of ``split``."""
        del cutout_size  # not part of the ImageNet recipe
        parallel = tf.data.AUTOTUNE if self.pipeline.parallel_calls == -1 else (
            self.pipeline.parallel_calls)
        ds = self.builder.as_dataset(split=self._SPLITS[split], shuffle_files=False,
                                     decoders=None)
        ds = ds.map(lambda example: (example["image"], example["label"]))
        if shuffle_seed is not None:
            ds = ds.shuffle(10_000, seed=shuffle_seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()

        def prepare(example, seed):
            image = tf.cast(example[0], tf.float32) / 255.0
            if augment:
                image = random_resized_crop(image, seed)
                image = tf.image.stateless_random_flip_left_right(image, seed=seed + 1)
                image = color_jitter(image, seed + 2)
            else:
                image = center_crop(image)
            return (image - MEAN) / STD, tf.cast(example[1], tf.int32)

        seeds = tf.data.Dataset.random(seed=shuffle_seed or 0).batch(2)
        ds = tf.data.Dataset.zip((ds, seeds)).map(prepare, num_parallel_calls=parallel,
                                                  deterministic=True)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        prefetch = tf.data.AUTOTUNE if self.pipeline.prefetch == -1 else self.pipeline.prefetch
        return ds.prefetch(prefetch).with_options(self.pipeline.tf_options())


def load_imagenet(data_dir: str | None = None, download: bool = True) -> StreamingImageSplits:
    """ImageNet from TFDS, prepared from the manual downloads if needed; a one-line
    error saying where they go otherwise."""
    import tensorflow_datasets as tfds

    where = data_dir or "~/tensorflow_datasets"
    builder = tfds.builder("imagenet2012", data_dir=data_dir)
    if not builder.is_prepared():
        if not download:
            raise DataNotFoundError(f"imagenet2012 is not prepared in {where} (download "
                                    f"disabled). {MANUAL_HELP.format(dir=where)}.")
        try:
            builder.download_and_prepare()
        except Exception as error:  # AssertionError naming the manual directory, ...
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise DataNotFoundError(f"imagenet2012 could not be prepared in {where} "
                                    f"({type(error).__name__}: {first[:200]}). "
                                    f"{MANUAL_HELP.format(dir=where)}.") from None
    return StreamingImageSplits("imagenet2012", builder,
                                num_classes=builder.info.features["label"].num_classes)
