"""What the search-step benchmarks share: model-size flags, a search on synthetic
CIFAR-shaped data under a given strategy, and step timing."""

from __future__ import annotations

import dataclasses
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

flags.DEFINE_enum("search_space", "micro", ["micro", "macro"], "Search space to measure.")
flags.DEFINE_integer("batch_size", None, "Global batch size (default: the space's official "
                     "search batch, micro 160, macro 128).")
flags.DEFINE_integer("filters", None, "Channels C (default: official, micro 20, macro 36).")
flags.DEFINE_integer("num_layers", None, "Official child_num_layers (default: micro 6, i.e. "
                     "8 cells; macro 12 layers).")
flags.DEFINE_integer("num_nodes", 5, "Micro: searched nodes per cell.")
flags.DEFINE_integer("steps", 10, "Timed steps per variant, after one warm-up step.")
FLAGS = flags.FLAGS


def config(**overrides) -> SearchConfig:
    """The official search settings of ``--search_space`` with the size flags given."""
    sizes = {name: getattr(FLAGS, name) for name in ("batch_size", "filters", "num_layers")
             if getattr(FLAGS, name) is not None}
    return SearchConfig.for_space(FLAGS.search_space, num_nodes=FLAGS.num_nodes,
                                  **{**sizes, **overrides})


def settings() -> str:
    cfg = config()
    size = (f"{cfg.num_layers + 2} cells, {cfg.num_nodes} nodes" if cfg.search_space == "micro"
            else f"{cfg.num_layers} layers")
    return (f"{cfg.search_space}: batch {cfg.batch_size}, C={cfg.filters}, {size}, 32x32x3, "
            f"{FLAGS.steps} timed steps, {os.cpu_count()} CPU cores, TF {tf.__version__}")


def models(arc=None, seed: int = 0):
    """``(space, sample_arcs(n), fixed(arc), supernet())`` for ``--search_space`` at the
    flags' size: ``fixed`` and ``supernet`` return ``(model, forward)`` with
    ``forward(images, arc) -> (logits, aux_logits or None)``, both built."""
    from enas_tf.components import get_components

    cfg = config()
    components = get_components(cfg.search_space)
    space = components.make_space(cfg)
    shape = (32, 32, 3)

    def sample_arcs(n):
        controller = components.make_controller(space, dataclasses.replace(cfg, seed=seed))
        return [controller.sample()[0] for _ in range(n)]

    def fixed(arc):
        model = components.make_fixed_model(space, tf.convert_to_tensor(arc).numpy(), cfg, 10)
        model.build_for(shape)
        return model, lambda x, _: model(x, training=True, return_aux=True)

    def supernet():
        model = components.make_supernet(space, cfg, 10).build_for(shape)
        return model, lambda x, a: model(x, arc=a, training=True, return_aux=True)

    return space, sample_arcs, fixed, supernet


def synthetic_cifar(batch_size: int) -> ImageSplits:
    """Random CIFAR-shaped uint8 images (timing does not depend on the pixels)."""
    rng = np.random.default_rng(0)

    def split(n):
        return (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                rng.integers(0, 10, n).astype(np.int32))

    return ImageSplits("synthetic-cifar", split(4 * batch_size), split(batch_size),
                       split(batch_size), num_classes=10)


def make_search(strategy: tf.distribute.Strategy, **overrides):
    """A ``Search`` with the flags' space and size on synthetic data."""
    from enas_tf.loops.search import Search

    cfg = config(output_dir=tempfile.mkdtemp(prefix="enas_bench_"), **overrides)
    cfg = dataclasses.replace(cfg, num_valid=cfg.batch_size)
    return Search(cfg, synthetic_cifar(cfg.batch_size), strategy)


def search_batches(search):
    """An endless iterator of distributed augmented training batches."""
    dataset = search.data.dataset("train", search.config.batch_size, shuffle_seed=0,
                                  augment=True, repeat=True, drop_remainder=True)
    return iter(search.distribution.experimental_distribute_dataset(dataset))


def time_search_steps(search, steps: int) -> tuple[float, float]:
    """(first call seconds incl. tracing, median seconds per step) of the search's train
    step, a new sampled architecture each step, batches from the real pipeline."""
    batches = search_batches(search)
    return time_calls(lambda: search.method.steps.train_step(*next(batches),
                                                      search.method.steps.sample_arc()), steps)


def _timed(call: Callable[[], object]) -> float:
    """Seconds of one call, its result fetched so the time covers the whole computation."""
    began = time.perf_counter()
    tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, call())
    return time.perf_counter() - began


def time_each(call: Callable[[], object], steps: int) -> tuple[float, list[float]]:
    """(first call seconds, seconds of each of the next ``steps`` calls)."""
    first = _timed(call)
    return first, [_timed(call) for _ in range(steps)]


def time_interleaved(calls: list[Callable[[], object]], steps: int) -> list[tuple[float, float]]:
    """(first call seconds, median seconds) of each of ``calls``, their timed calls taken
    in turns (one of each per round), so a machine that speeds up or slows down during the
    run shifts all of them alike and their ratios hold."""
    firsts = [_timed(call) for call in calls]
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(steps):
        for call, record in zip(calls, times):
            record.append(_timed(call))
    return [(first, float(np.median(record))) for first, record in zip(firsts, times)]


def time_calls(call: Callable[[], object], steps: int) -> tuple[float, float]:
    """(first call seconds, median seconds of the next ``steps`` calls)."""
    first, times = time_each(call, steps)
    return first, float(np.median(times))


def make_step(model, forward):
    """A compiled train step (CE + 0.4 aux CE + L2, clipped Nesterov SGD) for
    ``forward(images, arc) -> (logits, aux_logits or None)``: the same step for fixed
    models and the supernet, so their timings and memory compare."""
    from enas_tf.training.optimizers import shared_weight_sgd
    from enas_tf.training.steps import l2_penalty

    optimizer = shared_weight_sgd(0.05, 0.9, 5.0, model.trainable_variables)

    @tf.function
    def step(images, labels, arc):
        variables = model.trainable_variables
        with tf.GradientTape() as tape:
            logits, aux = forward(images, arc)
            ce = lambda z: tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=z))
            loss = ce(logits) + 1e-4 * l2_penalty(variables)
            if aux is not None:
                loss += 0.4 * ce(aux)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return step
