"""Train-step time: supernet on sampled architectures vs the same fixed models.

For each of ``--arcs`` sampled architectures, the architecture is built as a plain fixed
Keras model and timed, and the supernet is timed on it: both get the same step (CE + aux
+ L2, Nesterov SGD with clipping), the same batch and shapes, in one process. Then the
supernet switches to the next architecture at every step (the search regime), and that
run is compared with the fixed models' times for the same sequence. Defaults are the
official search settings (batch 160, C=20, 8 cells, CIFAR-sized input).

    python benchmarks/supernet_vs_fixed.py [--arcs=3 --steps=10 --batch_size=160]
"""

from __future__ import annotations

import gc
import itertools
import os

from common import FLAGS, time_calls, time_each  # also puts the repository on sys.path

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from enas_tf.controllers.micro_controller import MicroController  # noqa: E402
from enas_tf.models.micro_fixed import FixedMicroNetwork  # noqa: E402
from enas_tf.search_spaces.micro import MicroSearchSpace  # noqa: E402
from enas_tf.supernet.micro import MicroSupernet  # noqa: E402
from enas_tf.training.optimizers import shared_weight_sgd  # noqa: E402
from enas_tf.training.steps import l2_penalty  # noqa: E402

flags.DEFINE_integer("image_size", 32, "Input height and width.")
flags.DEFINE_integer("seed", 0, "Seed of the controller that samples the architectures.")
flags.DEFINE_integer("arcs", 3, "Sampled architectures, each compared with its fixed model.")


def make_step(model, forward):
    """A compiled train step for ``forward(images) -> (logits, aux_logits)``."""
    optimizer = shared_weight_sgd(0.05, 0.9, 5.0, model.trainable_variables)

    @tf.function
    def step(images, labels, arc):
        variables = model.trainable_variables
        with tf.GradientTape() as tape:
            logits, aux = forward(images, arc)
            ce = lambda z: tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=z))
            loss = ce(logits) + 0.4 * ce(aux) + 1e-4 * l2_penalty(variables)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return step


def time_fixed_model(space, arc, images, labels) -> tuple[float, float, int]:
    """(first call, median step, parameters) of ``arc`` as a fixed Keras model."""
    gc.collect()  # free the previous fixed model before building this one
    fixed = FixedMicroNetwork(space, arc.numpy(), num_layers=FLAGS.num_layers,
                              filters=FLAGS.filters, always_batch_stats=True)
    fixed.build_for(images.shape[1:])
    step = make_step(fixed, lambda x, _: fixed(x, training=True, return_aux=True))
    first, median = time_calls(lambda: step(images, labels, arc), FLAGS.steps)
    return first, median, fixed.count_params()


def main(argv):
    del argv
    if FLAGS.arcs < 1 or FLAGS.steps < 1:
        raise app.UsageError("--arcs and --steps must be at least 1")
    space = MicroSearchSpace(FLAGS.num_nodes)
    shape = (FLAGS.image_size, FLAGS.image_size, 3)
    images = tf.random.normal([FLAGS.batch_size, *shape])
    labels = tf.random.uniform([FLAGS.batch_size], 0, 10, tf.int32)
    controller = MicroController(space, seed=FLAGS.seed)
    arcs = [controller.sample()[0] for _ in range(FLAGS.arcs)]
    print(f"batch {FLAGS.batch_size}, C={FLAGS.filters}, {FLAGS.num_layers + 2} cells, "
          f"input {shape}, {FLAGS.arcs} architectures x {FLAGS.steps} timed steps, "
          f"{os.cpu_count()} CPU cores")

    fixed_first, fixed_median, fixed_params = zip(
        *(time_fixed_model(space, arc, images, labels) for arc in arcs))

    supernet = MicroSupernet(space, num_layers=FLAGS.num_layers,
                             filters=FLAGS.filters).build_for(shape)
    super_step = make_step(supernet, lambda x, a: supernet(x, arc=a, training=True,
                                                           return_aux=True))
    super_median, super_first = [], []
    for arc in arcs:
        first, median = time_calls(lambda: super_step(images, labels, arc), FLAGS.steps)
        super_first.append(first)
        super_median.append(median)
    # The search regime: another architecture at every step, cycling through the same
    # ones, compared with what their fixed models cost for that sequence.
    calls = itertools.count(1)  # call k (1 = warm-up) runs arcs[k % n]
    _, switching = time_each(
        lambda: super_step(images, labels, arcs[next(calls) % len(arcs)]),
        FLAGS.steps * len(arcs))
    fixed_for_sequence = [fixed_median[k % len(arcs)] for k in range(2, 2 + len(switching))]

    print(f"supernet parameters {supernet.count_params():,}; "
          f"first call (trace) {super_first[0]:.1f}s")
    print(" arc | fixed params | fixed first call | fixed median | supernet median | ratio")
    for i, arc in enumerate(arcs):
        print(f"{i:4d} | {fixed_params[i]:12,} | {fixed_first[i]:15.1f}s | "
              f"{fixed_median[i]:11.3f}s | {super_median[i]:14.3f}s | "
              f"{super_median[i] / fixed_median[i]:.2f}x   {space.to_string(arc.numpy())}")
    same = float(np.exp(np.mean(np.log(np.array(super_median) / np.array(fixed_median)))))
    switch = sum(switching) / sum(fixed_for_sequence)
    print(f"ratio supernet/fixed, same architecture (geometric mean over arcs): {same:.2f}x")
    print(f"ratio supernet/fixed, a new architecture each step "
          f"(total {sum(switching):.2f}s vs {sum(fixed_for_sequence):.2f}s): {switch:.2f}x")
    print(f"target: within 1.3x -> {'met' if max(same, switch) <= 1.3 else 'not met'}")


if __name__ == "__main__":
    app.run(main)
