"""Controller throughput: architectures sampled per second, and REINFORCE updates.

    python benchmarks/controller_sampling.py --samples=200

The official micro controller (LSTM 64, 40 decisions for 5 nodes) samples inside one
``tf.function`` per architecture, as the search does; the batched variant samples
``--batch`` architectures per call to show the per-call overhead.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf
from absl import app, flags

from common import FLAGS  # also puts the repository on sys.path
from enas_tf.controllers.micro_controller import MicroController
from enas_tf.controllers.reinforce import Reinforce
from enas_tf.search_spaces.micro import MicroSearchSpace

flags.DEFINE_integer("samples", 200, "Architectures timed per variant.")
flags.DEFINE_integer("batch", 10, "Architectures per call in the batched variant.")


def _rate(call, count: int, per_call: int) -> float:
    call()  # trace
    began = time.perf_counter()
    for _ in range(count // per_call):
        [tf.convert_to_tensor(t).numpy() for t in tf.nest.flatten(call()) if t is not None]
    return (count // per_call) * per_call / (time.perf_counter() - began)


def main(argv):
    del argv
    space = MicroSearchSpace(FLAGS.num_nodes)
    controller = MicroController(space, seed=0)
    reinforce = Reinforce(controller)
    sample = tf.function(lambda: controller.sample()[0])
    batched = tf.function(lambda: tf.stack([controller.sample()[0] for _ in range(FLAGS.batch)]))
    sample_and_grad = tf.function(
        lambda: reinforce.sample_gradients(lambda arc: tf.constant(0.5))[0])
    print(f"micro controller, {space.num_decisions} decisions, LSTM 64, "
          f"{FLAGS.samples} architectures per variant")
    one = _rate(sample, FLAGS.samples, 1)
    many = _rate(batched, FLAGS.samples, FLAGS.batch)
    grads = _rate(sample_and_grad, FLAGS.samples, 1)
    print(f"sample, one per call        : {one:8.1f} architectures/s")
    print(f"sample, {FLAGS.batch} per call         : {many:8.1f} architectures/s "
          f"({many / one:.2f}x)")
    print(f"sample + REINFORCE gradient : {grads:8.1f} architectures/s")
    arcs = np.stack([sample().numpy() for _ in range(50)])
    print(f"distinct architectures in 50 samples: {len({tuple(a) for a in arcs})}")


if __name__ == "__main__":
    app.run(main)
