"""Mean area cutout masks, by rule: ENAS's (top-left corner uniform) and DARTS's
(centre uniform, ``utils.Cutout``), against their exact expectations.

    python benchmarks/cutout_area.py                 # 32x32 images, size 16, 10,000 draws
    python benchmarks/cutout_area.py --size=8 --side=16

Both rules clip the square at the border; a side covers ``E[len]`` rows on average and
the two sides are independent, so the mean area is ``E[len]^2`` (150.06 and 196.0 px for
a 16-px square on 32x32).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from absl import app, flags

import common  # noqa: F401  (puts the repository on sys.path)
from enas_tf.data.pipeline import CUTOUT_RULES, cutout, cutout_corner
from enas_tf.training.platform import describe_platform

flags.DEFINE_integer("size", 16, "Side of the cutout square in pixels.")
flags.DEFINE_integer("side", 32, "Side of the (square) image.")
flags.DEFINE_integer("draws", 10_000, "Cutouts drawn per rule.")
FLAGS = flags.FLAGS


def expected_side(rule: str, size: int, side: int) -> float:
    """E[rows covered] of a square of ``size`` on ``side`` rows, by ``rule``."""
    starts = (np.arange(side) if rule == "corner"
              else np.arange(side) - size // 2)
    length = size if rule == "corner" else 2 * (size // 2)
    ends = np.minimum(starts + length, side)
    return float(np.mean(ends - np.maximum(starts, 0)))


def main(argv) -> None:
    del argv
    print(f"machine: {describe_platform()}")
    image = tf.ones([FLAGS.side, FLAGS.side, 1])
    for rule in CUTOUT_RULES:
        @tf.function
        def masked(seed, rule=rule):
            corner, size = cutout_corner(seed, FLAGS.size, FLAGS.side, FLAGS.side, rule)
            return float(FLAGS.side ** 2) - tf.reduce_sum(cutout(image, size, corner))

        areas = np.array([float(masked(tf.constant([i, 11]))) for i in range(FLAGS.draws)])
        exact = expected_side(rule, FLAGS.size, FLAGS.side) ** 2
        print(f"{rule:6s} rule: mean masked area {areas.mean():7.2f} px +- "
              f"{areas.std() / np.sqrt(len(areas)):.2f} over {len(areas):,} draws "
              f"(exact expectation {exact:.2f} px) on {FLAGS.side}x{FLAGS.side}, size "
              f"{FLAGS.size}")


if __name__ == "__main__":
    app.run(main)
