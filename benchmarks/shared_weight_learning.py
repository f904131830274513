"""How fast shared weights learn under each way of choosing the step's architecture.

The quick-start supernet (digits, 3 cells, C=8, batch 64, constant lr 0.05, Nesterov
momentum 0.9, L2 1e-4, clip 5) trains for ``--steps`` steps, changing only which
architectures the steps see, for each supernet weight layout (``official``: per-source
sep-conv rows and per-node cell-output kernels; ``compact``: one of each). Printed per
run: train accuracy over the last 100 steps, and the validation accuracy (all 300
validation digits) of the published architecture and of 20 uniformly random ones on the
trained weights. Everything runs in one process on the same data and seeds.

    python benchmarks/shared_weight_learning.py                      # all regimes, 1000 steps
    python benchmarks/shared_weight_learning.py --regimes=uniform --steps=3000

Regimes: ``fixed`` (the published architecture every step), ``cycle5`` (5 random
architectures in turn), ``uniform`` (a fresh uniformly random architecture per step,
the ENAS rule), ``wiring_fixed`` (published inputs, ops sampled), ``ops_fixed``
(published ops, inputs sampled), ``shallow`` (inputs sampled from the two cell inputs
only), ``deep`` (each node's first input is the node before it), ``controller``
(sampled from the untrained official controller).
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from enas_tf.models.micro_skeleton import WEIGHT_SHARING  # noqa: E402
from enas_tf.controllers.micro_controller import MicroController  # noqa: E402
from enas_tf.controllers.reinforce import Reinforce  # noqa: E402
from enas_tf.data import load_digits  # noqa: E402
from enas_tf.search_spaces.micro import PUBLISHED_ENAS_MICRO_ARC, MicroSearchSpace  # noqa: E402
from enas_tf.supernet.micro import MicroSupernet  # noqa: E402
from enas_tf.training.optimizers import shared_weight_sgd  # noqa: E402
from enas_tf.training.steps import SearchSteps  # noqa: E402
from enas_tf.training.platform import describe_platform  # noqa: E402

REGIMES = ("fixed", "cycle5", "uniform", "wiring_fixed", "ops_fixed", "shallow", "deep",
           "controller")
flags.DEFINE_list("regimes", list(REGIMES), f"Regimes to run, of {', '.join(REGIMES)}.")
flags.DEFINE_list("weight_sharing", list(WEIGHT_SHARING), "Supernet weight layouts to run.")
flags.DEFINE_integer("steps", 1000, "Training steps per run.")
flags.DEFINE_integer("filters", 8, "Channels C.")
flags.DEFINE_float("lr", 0.05, "Constant learning rate.")
flags.DEFINE_integer("seed", 0, "Seed of weights, data order and sampled architectures.")
FLAGS = flags.FLAGS
SPACE = MicroSearchSpace(5)
BATCH = 64


def architecture_source(regime: str, rng: np.random.Generator, steps: SearchSteps):
    """``arc_for(step)`` for ``regime``."""
    published = np.array(SPACE.from_string(PUBLISHED_ENAS_MICRO_ARC))
    cycle = [np.array(SPACE.random_architecture(rng)) for _ in range(5)]

    def arc_for(step: int) -> np.ndarray:
        if regime == "fixed":
            return published
        if regime == "cycle5":
            return cycle[step % 5]
        if regime == "controller":
            return steps.sample_arc().numpy()
        arc = np.array(SPACE.random_architecture(rng))
        if regime == "wiring_fixed":
            arc[0::2] = published[0::2]
        elif regime == "ops_fixed":
            arc[1::2] = published[1::2]
        elif regime == "shallow":
            arc[0::2] = rng.integers(0, 2, size=arc[0::2].shape)
        elif regime == "deep":  # node i's first input is node i - 1, in both cells
            for cell in range(2):
                for node in range(SPACE.num_nodes):
                    arc[cell * SPACE.cell_length + 4 * node] = node + 1
        return arc

    return arc_for


def run(regime: str, weight_sharing: str, data) -> dict[str, float]:
    keras.utils.set_random_seed(FLAGS.seed)
    rng = np.random.default_rng(FLAGS.seed)
    supernet = MicroSupernet(SPACE, num_layers=1, filters=FLAGS.filters, num_classes=10,
                             use_aux_head=False, weight_sharing=weight_sharing)
    supernet.build_for(data.image_shape)
    optimizer = shared_weight_sgd(FLAGS.lr, 0.9, 5.0, supernet.trainable_variables)
    steps = SearchSteps(supernet, optimizer, Reinforce(MicroController(SPACE, seed=FLAGS.seed)),
                        tf.distribute.get_strategy(), BATCH, l2_reg=1e-4, aux_weight=0.0)
    arc_for = architecture_source(regime, rng, steps)
    batches = iter(data.dataset("train", BATCH, shuffle_seed=FLAGS.seed, augment=True,
                                repeat=True, drop_remainder=True))
    began, accuracies = time.time(), []
    for step in range(FLAGS.steps):
        images, labels = next(batches)
        accuracies.append(float(steps.train_step(images, labels,
                                                 tf.constant(arc_for(step), tf.int32))[1]))
    images, labels = next(iter(data.dataset("valid", len(data.valid[0]))))

    def valid_accuracy(arc) -> float:
        correct, count = steps.count_correct(images, labels, tf.constant(arc, tf.int32))
        return float(correct) / float(count)

    randoms = [valid_accuracy(SPACE.random_architecture(rng)) for _ in range(20)]
    return {"train": float(np.mean(accuracies[-100:])),
            "published": valid_accuracy(SPACE.from_string(PUBLISHED_ENAS_MICRO_ARC)),
            "random_mean": float(np.mean(randoms)), "random_std": float(np.std(randoms)),
            "seconds": time.time() - began}


def main(argv):
    del argv
    print(f"machine: {describe_platform()}", flush=True)
    unknown = sorted(set(FLAGS.regimes) - set(REGIMES)) + sorted(
        set(FLAGS.weight_sharing) - set(WEIGHT_SHARING))
    if unknown:
        raise app.UsageError(f"unknown regime or weight layout: {', '.join(unknown)}")
    data = load_digits(300, FLAGS.seed)
    print(f"digits, 3 cells, C={FLAGS.filters}, batch {BATCH}, lr {FLAGS.lr}, {FLAGS.steps} "
          f"steps, seed {FLAGS.seed}, {os.cpu_count()} CPU cores, TF {tf.__version__}")
    print("| architectures during training | weights | train acc (last 100 steps) | "
          "valid acc, published | valid acc, 20 random (mean +- std) | seconds |")
    print("|---|---|---|---|---|---|")
    for regime in FLAGS.regimes:
        for weight_sharing in FLAGS.weight_sharing:
            r = run(regime, weight_sharing, data)
            print(f"| {regime} | {weight_sharing} | {r['train']:.3f} | {r['published']:.3f} | "
                  f"{r['random_mean']:.3f} +- {r['random_std']:.3f} | {r['seconds']:.0f} |",
                  flush=True)


if __name__ == "__main__":
    app.run(main)
