"""Search train steps per second with ``jit_compile`` (XLA) off and on.

    python benchmarks/jit_compile.py                 # official search settings
    python benchmarks/jit_compile.py --batch_size=32 --filters=8 --num_layers=1

The same library step (``SearchSteps.train_step``: supernet, CE + aux + L2, clipped
Nesterov SGD) on one device, a new architecture every step.
"""

from __future__ import annotations

import tensorflow as tf
from absl import app

import common
from common import FLAGS
from enas_tf.training.platform import describe_platform  # noqa: E402


def main(argv):
    del argv
    print(f"machine: {describe_platform()}", flush=True)
    print(common.settings())
    results = {}
    for jit in (False, True):
        search = common.make_search(tf.distribute.get_strategy(), jit_compile=jit)
        first, median = common.time_search_steps(search, FLAGS.steps)
        results[jit] = median
        print(f"jit_compile={str(jit):5}: first call {first:7.1f}s  median step {median:.3f}s"
              f"  {1.0 / median:.3f} steps/s", flush=True)
    print(f"steps/s ratio jit on / jit off: {results[False] / results[True]:.2f}x")


if __name__ == "__main__":
    app.run(main)
