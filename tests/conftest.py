"""Shared test fixtures: small configurations that trace quickly on 2 CPU cores."""

import os
import socket

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import tensorflow as tf

# Two logical CPUs, so MirroredStrategy really runs two replicas in the tests. Must
# happen before TensorFlow initialises its devices.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

from enas_tf.config import SearchConfig
from enas_tf.data.pipeline import ImageSplits


def make_splits(num_train=64, num_valid=32, size=8, channels=3, seed=0) -> ImageSplits:
    """A tiny learnable image set: the class is the brightest quadrant of the image."""
    rng = np.random.default_rng(seed)

    def split(n):
        labels = rng.integers(0, 4, size=n).astype(np.int32)
        images = rng.integers(0, 100, size=(n, size, size, channels))
        half = size // 2
        for i, label in enumerate(labels):
            r, c = divmod(int(label), 2)
            images[i, r * half:(r + 1) * half, c * half:(c + 1) * half] += 150
        return images.astype(np.uint8), labels

    return ImageSplits("tiny", split(num_train), split(num_valid), split(num_valid),
                       num_classes=4, pad=1)


@pytest.fixture
def tiny_splits():
    return make_splits()


def tiny_config(output_dir, **overrides) -> SearchConfig:
    """A search small enough to trace and run in seconds."""
    values = dict(dataset="digits", num_layers=1, num_nodes=2, filters=4, aux_weight=0.0,
                  batch_size=16, num_epochs=1, steps_per_epoch=3, controller_train_steps=2,
                  controller_num_aggregate=2, derive_num_samples=3, log_every=1,
                  output_dir=str(output_dir), seed=1)
    values.update(overrides)
    return SearchConfig(**values)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
