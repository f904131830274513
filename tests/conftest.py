"""Shared test fixtures: small configurations that trace quickly on 2 CPU cores."""

import os
import socket

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf

# Two logical CPUs, so MirroredStrategy really runs two replicas in the tests. Must
# happen before TensorFlow initialises its devices.
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

from enas_tf.config import FinalConfig, SearchConfig
from enas_tf.data.pipeline import ImageSplits
from enas_tf.data.text import TextSplits


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


def tiny_text(vocab=12, length=(600, 200, 200), seed=0) -> TextSplits:
    """A learnable stream: each word is mostly the previous word plus one."""
    rng = np.random.default_rng(seed)

    def stream(n):
        tokens = [0]
        for _ in range(n - 1):
            tokens.append((tokens[-1] + 1) % vocab if rng.random() < 0.9 else rng.integers(vocab))
        return np.asarray(tokens, np.int32)

    return TextSplits("tiny-text", tuple(f"w{i}" for i in range(vocab)),
                      *(stream(n) for n in length), bptt=6)


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


def tiny_final_config(output_dir, **overrides) -> FinalConfig:
    """A final training small enough to trace and run in seconds."""
    values = dict(dataset="digits", num_layers=1, filters=4, aux_weight=0.4, cutout=2,
                  batch_size=16, num_epochs=1, steps_per_epoch=3, log_every=1, eval_every=1,
                  output_dir=str(output_dir), seed=1)
    values.update(overrides)
    return FinalConfig(**values)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The CLI flags of a search that takes seconds (the fault and signal tests).
TINY_SEARCH = ["--dataset=digits", "--num_valid=300", "--num_layers=1", "--num_nodes=2",
               "--filters=4", "--batch_size=32", "--num_epochs=4", "--steps_per_epoch=4",
               "--controller_train_steps=2", "--controller_num_aggregate=2",
               "--derive_num_samples=3", "--derive_random_samples=2", "--aux_weight=0",
               "--log_every=1", "--verbose=0", "--deterministic", "--seed=5"]


def assert_one_trace_for_many_architectures(supernet, controller, space, count=6):
    """Trains ``supernet`` one step on each of ``count`` random architectures of
    ``space`` through the search's compiled train step; the step must trace once."""
    import keras

    from enas_tf.controllers.reinforce import Reinforce
    from enas_tf.training.steps import SearchSteps

    optimizer = keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)
    optimizer.build(supernet.trainable_variables)
    steps = SearchSteps(supernet, optimizer, Reinforce(controller),
                        tf.distribute.get_strategy(), global_batch_size=8, l2_reg=1e-4,
                        aux_weight=0.0)
    images, labels = tf.random.normal([8, 8, 8, 3]), tf.zeros([8], tf.int32)
    rng = np.random.default_rng(0)
    arcs = {space.random_architecture(rng) for _ in range(count)}
    assert len(arcs) > 3
    for arc in arcs:
        loss, _ = steps.train_step(images, labels, tf.constant(arc, tf.int32))
        assert np.isfinite(float(loss))
    assert steps.trace_count == 1


def assert_reloads_in_a_fresh_process(model, tmp_path, class_name: str):
    """Saves ``model`` as ``.keras`` and loads it in a new Python that imports only
    enas_tf: same class, same predictions on random 8x8 images."""
    import subprocess
    import sys

    images = np.random.default_rng(0).normal(size=(3, 8, 8, 3)).astype(np.float32)
    expected = model(images, training=False).numpy()
    path = str(tmp_path / "model.keras")
    model.save(path)
    np.save(tmp_path / "images.npy", images)
    script = ("import numpy as np, keras\n"
              "import enas_tf  # registers the layers and models\n"
              f"m = keras.models.load_model({path!r})\n"
              "print(type(m).__name__)\n"
              f"np.save({str(tmp_path / 'out.npy')!r}, "
              f"m(np.load({str(tmp_path / 'images.npy')!r}), training=False).numpy())\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert class_name in result.stdout
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-5, atol=1e-5)


@pytest.fixture
def float64():
    """Layers and variables in float64 (Keras caches its dtype policy once a layer was
    made, so the policy is set as well as floatx)."""
    policy = keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy(policy)
