"""Forward + gradient of an 8-group convolution: the block-diagonal dense kernel
(``enas_tf.layers.grouped_conv``, what GDAS's fixed reduction cell runs), 8 convolutions
over channel slices, and TensorFlow's native grouped convolution where its gradient
exists (oneDNN, cuDNN; TensorFlow's own CPU kernels have none). One run, same inputs.

    python benchmarks/grouped_conv.py                  # the kernel path this CPU defaults to
    TF_ENABLE_ONEDNN_OPTS=0 python benchmarks/grouped_conv.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from enas_tf.layers.grouped_conv import grouped_conv2d  # noqa: E402
from enas_tf.training.platform import describe_platform  # noqa: E402

GROUPS = 8
# (batch, size, channels): GDAS-FRC's reduction cells at the search size (C=16: 2C and 4C
# channels at 32x32 and 16x16, batch 64), then wider.
SHAPES = ((64, 32, 32), (64, 16, 64), (64, 16, 144))


def sliced(x, kernel, strides):
    pieces = zip(tf.split(x, GROUPS, axis=-1), tf.split(kernel, GROUPS, axis=-1))
    return tf.concat([tf.nn.conv2d(a, k, strides, "VALID") for a, k in pieces], axis=-1)


def native(x, kernel, strides):
    return tf.nn.conv2d(x, kernel, strides, "VALID")


def blockdiag(x, kernel, strides):
    return grouped_conv2d(x, kernel, strides, GROUPS)


def time_grad(conv, x, kernel, repeats=20) -> float | None:
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch([x, kernel])
            loss = tf.reduce_sum(conv(x, kernel, [1, 1, 2, 1]) ** 2)
        return tape.gradient(loss, [x, kernel])

    try:
        step()
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
        return None
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        [g.numpy() for g in step()]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"machine: {describe_platform()}", flush=True)
    for batch, size, channels in SHAPES:
        x = tf.random.normal([batch, size, size, channels])
        kernel = tf.random.normal([1, 3, channels // GROUPS, channels])
        results = {name: time_grad(conv, x, kernel) for name, conv in
                   (("block-diagonal", blockdiag), ("8 slices", sliced), ("native", native))}
        shown = "  ".join(f"{name} {'no gradient' if t is None else f'{t * 1e3:6.1f} ms'}"
                          for name, t in results.items())
        print(f"batch {batch}, {size}x{size}x{channels}: {shown}  "
              f"(block-diagonal / slices {results['block-diagonal'] / results['8 slices']:.2f}x)",
              flush=True)


if __name__ == "__main__":
    main()
