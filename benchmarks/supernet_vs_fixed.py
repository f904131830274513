"""Median train-step time: supernet on a sampled architecture vs the same fixed model.

Both models get the same step (CE + aux + L2, Nesterov SGD), the same batch and shapes,
in one process. The supernet is timed twice: on the one sampled architecture, and with a
fresh architecture every step (the search regime). Defaults are the official search
settings (batch 160, C=20, 8 cells, CIFAR-sized input).

    python benchmarks/supernet_vs_fixed.py [--batch_size=160 --filters=20 --num_layers=6]
"""

from __future__ import annotations

import os

from common import FLAGS, time_calls  # also puts the repository on sys.path

import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from enas_tf.controllers.micro_controller import MicroController  # noqa: E402
from enas_tf.models.micro_fixed import FixedMicroNetwork  # noqa: E402
from enas_tf.search_spaces.micro import MicroSearchSpace  # noqa: E402
from enas_tf.supernet.micro import MicroSupernet  # noqa: E402
from enas_tf.training.optimizers import shared_weight_sgd  # noqa: E402
from enas_tf.training.steps import l2_penalty  # noqa: E402

flags.DEFINE_integer("image_size", 32, "Input height and width.")
flags.DEFINE_integer("seed", 0, "Seed of the sampled architecture.")


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


def time_steps(step, images, labels, arcs) -> tuple[float, float]:
    """(first-call seconds incl. tracing, median seconds of the following calls)."""
    arcs = iter(arcs)
    return time_calls(lambda: step(images, labels, next(arcs)), FLAGS.steps)


def main(argv):
    del argv
    space = MicroSearchSpace(FLAGS.num_nodes)
    shape = (FLAGS.image_size, FLAGS.image_size, 3)
    images = tf.random.normal([FLAGS.batch_size, *shape])
    labels = tf.random.uniform([FLAGS.batch_size], 0, 10, tf.int32)
    controller = MicroController(space, seed=FLAGS.seed)
    arc = controller.sample()[0]
    fresh_arcs = [controller.sample()[0] for _ in range(FLAGS.steps + 1)]
    print(f"architecture: {space.to_string(arc.numpy())}")
    print(f"batch {FLAGS.batch_size}, C={FLAGS.filters}, {FLAGS.num_layers + 2} cells, "
          f"input {shape}, {FLAGS.steps} timed steps, {os.cpu_count()} CPU cores")

    fixed = FixedMicroNetwork(space, arc.numpy(), num_layers=FLAGS.num_layers,
                              filters=FLAGS.filters, always_batch_stats=True).build_for(shape)
    fixed_step = make_step(fixed, lambda x, _: fixed(x, training=True, return_aux=True))
    fixed_first, fixed_median = time_steps(fixed_step, images, labels,
                                           [arc] * (FLAGS.steps + 1))

    supernet = MicroSupernet(space, num_layers=FLAGS.num_layers,
                             filters=FLAGS.filters).build_for(shape)
    super_step = make_step(supernet, lambda x, a: supernet(x, arc=a, training=True,
                                                           return_aux=True))
    super_first, super_median = time_steps(super_step, images, labels,
                                           [arc] * (FLAGS.steps + 1))
    _, fresh_median = time_steps(super_step, images, labels, fresh_arcs)

    print(f"fixed model      : params {fixed.count_params():>10,}  first call {fixed_first:7.1f}s"
          f"  median step {fixed_median:.3f}s")
    print(f"supernet         : params {supernet.count_params():>10,}  first call "
          f"{super_first:7.1f}s  median step {super_median:.3f}s (same architecture)")
    print(f"supernet         : median step {fresh_median:.3f}s (a new architecture each step)")
    print(f"ratio supernet/fixed, same architecture : {super_median / fixed_median:.2f}x")
    print(f"ratio supernet/fixed, new arc each step : {fresh_median / fixed_median:.2f}x")


if __name__ == "__main__":
    app.run(main)
