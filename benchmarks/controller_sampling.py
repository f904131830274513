"""Controller throughput: architectures sampled per second, and REINFORCE updates.

    python benchmarks/controller_sampling.py --samples=200
    python benchmarks/controller_sampling.py --search_space=macro    # 12 layers, 78 decisions

The space's official controller (micro: LSTM 64, 40 decisions for 5 nodes): one architecture per
``tf.function`` call; ``--batch`` per call (the per-call overhead); sampling with its
REINFORCE gradient; and a whole controller update of ``--batch`` architectures in one
call, as the search's controller phase runs it (``Reinforce.update``). In the
shared-weight phase the search samples inside the train step itself
(``SearchSteps.search_step``), so sampling there costs no dispatch of its own.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf
from absl import app, flags

import common
from common import FLAGS  # also puts the repository on sys.path
from enas_tf.components import get_components
from enas_tf.controllers.reinforce import Reinforce
from enas_tf.training.platform import describe_platform  # noqa: E402

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
    print(f"machine: {describe_platform()}", flush=True)
    cfg = common.config(seed=0)
    components = get_components(cfg.search_space)
    space = components.make_space(cfg)
    controller = components.make_controller(space, cfg)
    reinforce = Reinforce(controller)
    sample = tf.function(lambda: controller.sample()[0])
    batched = tf.function(lambda: tf.stack([controller.sample()[0] for _ in range(FLAGS.batch)]))
    sample_and_grad = tf.function(
        lambda: reinforce.sample_gradients(lambda arc: tf.constant(0.5))[0])
    update = tf.function(lambda: reinforce.update(lambda arc: tf.constant(0.5), FLAGS.batch))
    print(f"{cfg.search_space} controller, {space.num_decisions} decisions, LSTM 64, "
          f"{FLAGS.samples} architectures per variant")
    one = _rate(sample, FLAGS.samples, 1)
    many = _rate(batched, FLAGS.samples, FLAGS.batch)
    grads = _rate(sample_and_grad, FLAGS.samples, 1)
    updates = _rate(update, FLAGS.samples, FLAGS.batch)
    print(f"sample, one per call        : {one:8.1f} architectures/s")
    print(f"sample, {FLAGS.batch} per call         : {many:8.1f} architectures/s "
          f"({many / one:.2f}x)")
    print(f"sample + REINFORCE gradient : {grads:8.1f} architectures/s")
    print(f"whole update, {FLAGS.batch} per call   : {updates:8.1f} architectures/s "
          "(sample, gradient, Adam step)")
    arcs = np.stack([sample().numpy() for _ in range(50)])
    print(f"distinct architectures in 50 samples: {len({tuple(a) for a in arcs})}")


if __name__ == "__main__":
    app.run(main)
