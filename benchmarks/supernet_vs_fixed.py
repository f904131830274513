"""Train-step time: supernet on sampled architectures vs the same fixed models.

For each of ``--arcs`` sampled architectures, the architecture is built as a plain fixed
Keras model and timed, and the supernet is timed on it: both get the same step (CE (+
aux) + L2, Nesterov SGD with clipping), the same batch and shapes, in one process. Then
the supernet switches to the next architecture at every step (the search regime), and
that run is compared with the fixed models' times for the same sequence. Defaults are
the space's official search settings (micro: batch 160, C=20, 8 cells; macro: batch
128, C=36, 12 layers), CIFAR-sized input.

    python benchmarks/supernet_vs_fixed.py [--arcs=3 --steps=10 --batch_size=160]
    python benchmarks/supernet_vs_fixed.py --search_space=macro
"""

from __future__ import annotations

import gc
import itertools

from common import (FLAGS, config, make_step, models, settings, time_calls,  # sys.path too
                    time_each)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from enas_tf.models.summary import trainable_parameters  # noqa: E402
from enas_tf.training.platform import describe_platform  # noqa: E402

flags.DEFINE_integer("seed", 0, "Seed of the controller that samples the architectures.")
flags.DEFINE_integer("arcs", 3, "Sampled architectures, each compared with its fixed model.")


def main(argv):
    del argv
    print(f"machine: {describe_platform()}", flush=True)
    if FLAGS.arcs < 1 or FLAGS.steps < 1:
        raise app.UsageError("--arcs and --steps must be at least 1")
    space, sample_arcs, fixed_model, supernet_model = models(seed=FLAGS.seed)
    arcs = sample_arcs(FLAGS.arcs)
    batch = config().batch_size
    images = tf.random.normal([batch, 32, 32, 3])
    labels = tf.random.uniform([batch], 0, 10, tf.int32)
    print(f"{settings()}, {FLAGS.arcs} architectures")

    fixed_first, fixed_median, fixed_params = [], [], []
    for arc in arcs:
        gc.collect()  # free the previous fixed model before building this one
        model, forward = fixed_model(arc)
        step = make_step(model, forward)
        first, median = time_calls(lambda: step(images, labels, arc), FLAGS.steps)
        fixed_first.append(first)
        fixed_median.append(median)
        fixed_params.append(trainable_parameters(model))
        model = step = None  # let gc.collect() free them before the next build

    supernet, forward = supernet_model()
    super_step = make_step(supernet, forward)
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

    print(f"supernet trainable parameters {trainable_parameters(supernet):,}; "
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
    trace = super_first[0] / float(np.median(fixed_first))
    print(f"first call (trace) supernet/fixed (median of the fixed models): {trace:.2f}x")
    print(f"targets: step within 1.1x -> {'met' if max(same, switch) <= 1.1 else 'not met'}; "
          f"first call within 2x -> {'met' if trace <= 2 else 'not met'}")


if __name__ == "__main__":
    app.run(main)
