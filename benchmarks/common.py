"""What the search-step benchmarks share: model-size flags, a search on synthetic
CIFAR-shaped data under a given strategy, and step timing."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import flags  # noqa: E402

from enas_tf.config import SearchConfig  # noqa: E402
from enas_tf.data.pipeline import ImageSplits  # noqa: E402

flags.DEFINE_integer("batch_size", 160, "Global batch size (official search: 160).")
flags.DEFINE_integer("filters", 20, "Channels C (official search: 20).")
flags.DEFINE_integer("num_layers", 6, "Official child_num_layers; cells = num_layers + 2.")
flags.DEFINE_integer("num_nodes", 5, "Searched nodes per cell.")
flags.DEFINE_integer("steps", 10, "Timed steps per variant, after one warm-up step.")
FLAGS = flags.FLAGS


def settings() -> str:
    return (f"batch {FLAGS.batch_size}, C={FLAGS.filters}, {FLAGS.num_layers + 2} cells, "
            f"{FLAGS.num_nodes} nodes, 32x32x3, {FLAGS.steps} timed steps, "
            f"{os.cpu_count()} CPU cores, TF {tf.__version__}")


def synthetic_cifar(batch_size: int) -> ImageSplits:
    """Random CIFAR-shaped uint8 images (timing does not depend on the pixels)."""
    rng = np.random.default_rng(0)

    def split(n):
        return (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                rng.integers(0, 10, n).astype(np.int32))

    return ImageSplits("synthetic-cifar", split(4 * batch_size), split(batch_size),
                       split(batch_size), num_classes=10)


def make_search(strategy: tf.distribute.Strategy, **overrides):
    """A ``MicroSearch`` with the flags' model size on synthetic data."""
    from enas_tf.training.search import MicroSearch

    values = dict(batch_size=FLAGS.batch_size, filters=FLAGS.filters,
                  num_layers=FLAGS.num_layers, num_nodes=FLAGS.num_nodes,
                  output_dir=tempfile.mkdtemp(prefix="enas_bench_"), num_valid=FLAGS.batch_size)
    values.update(overrides)
    data = synthetic_cifar(FLAGS.batch_size)
    return MicroSearch(SearchConfig(**values), data, strategy)


def search_batches(search):
    """An endless iterator of distributed augmented training batches."""
    dataset = search.data.dataset("train", FLAGS.batch_size, shuffle_seed=0, augment=True,
                                  repeat=True, drop_remainder=True)
    return iter(search.strategy.experimental_distribute_dataset(dataset))


def time_search_steps(search, steps: int) -> tuple[float, float]:
    """(first call seconds incl. tracing, median seconds per step) of the search's train
    step, a new sampled architecture each step, batches from the real pipeline."""
    batches = search_batches(search)
    return time_calls(lambda: search.steps.train_step(*next(batches),
                                                      search.steps.sample_arc()), steps)


def time_each(call: Callable[[], object], steps: int) -> tuple[float, list[float]]:
    """(first call seconds, seconds of each of the next ``steps`` calls); each call's
    result is fetched so the time covers the whole computation."""
    def timed():
        began = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, call())
        return time.perf_counter() - began

    first = timed()
    return first, [timed() for _ in range(steps)]


def time_calls(call: Callable[[], object], steps: int) -> tuple[float, float]:
    """(first call seconds, median seconds of the next ``steps`` calls)."""
    first, times = time_each(call, steps)
    return first, float(np.median(times))
