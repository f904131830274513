"""Shared-weight ops whose weights are rows of tables, picked at run time.

The official ENAS micro search keeps separate sep-conv weights for every slot of every
node and every possible source node of that slot. Here one table per cell and op holds
all of them as rows (``[rows, ...]`` variables), and a slot gathers the row of its
sampled source: only that row receives gradients from the task loss. One table per cell
instead of one variable per slot keeps the optimizer's and the L2 term's graph small
(the official layout would need 1,280 variables at the search settings), which is most
of what tracing a train step costs.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.distribute.collectives import cross_replica_moments, in_multi_replica_context
from enas_tf.layers.ops import BN_EPSILON


def batch_stats_norm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) -> tf.Tensor:
    """Batch norm with batch statistics only (no moving averages), as the official search.

    With several replicas the statistics span the global batch (synchronised inside the
    ``tf.switch_case`` branch, see ``enas_tf.distribute.collectives``).
    """
    if in_multi_replica_context() or x.dtype == tf.float64:  # no fused float64 kernel
        mean, variance = cross_replica_moments(x, [0, 1, 2])
        return tf.nn.batch_normalization(x, mean, variance, beta, gamma, BN_EPSILON)
    # One fused op (and one fused gradient op) keeps the switch_case branches small.
    y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, epsilon=BN_EPSILON,
                                               is_training=True)
    return y


class SharedSepConv(keras.layers.Layer):
    """Twice (ReLU -> depthwise KxK -> pointwise 1x1 -> BN), ``rows`` weight sets.

    ``gather(row)`` returns one weight set, ``apply(x, weights)`` runs it.
    """

    def __init__(self, filters: int, kernel_size: int, rows: int, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.rows = filters, kernel_size, rows

    def build(self, input_shape):
        channels, k, n = self.filters, self.kernel_size, self.rows
        if input_shape[-1] != channels:
            raise ValueError(f"{self.name}: expected {channels} input channels, "
                             f"got {input_shape[-1]}.")
        # He-normal over each per-source kernel's own fan-in.
        depth_init = keras.initializers.RandomNormal(stddev=(2.0 / (k * k)) ** 0.5)
        point_init = keras.initializers.RandomNormal(stddev=(2.0 / channels) ** 0.5)
        self.depthwise, self.pointwise, self.gamma, self.beta = [], [], [], []
        for i in range(2):
            self.depthwise.append(self.add_weight(
                shape=(n, k, k, channels, 1), initializer=depth_init, name=f"depthwise{i}"))
            self.pointwise.append(self.add_weight(
                shape=(n, 1, 1, channels, channels), initializer=point_init, name=f"pointwise{i}"))
            self.gamma.append(self.add_weight(shape=(n, channels), initializer="ones",
                                              name=f"bn{i}_gamma"))
            self.beta.append(self.add_weight(shape=(n, channels), initializer="zeros",
                                             name=f"bn{i}_beta"))

    def gather(self, row) -> tuple[tf.Tensor, ...]:
        """The weights of one row.

        Gather these *outside* any ``tf.switch_case`` so the branch sees dense tensors;
        gathering inside makes the cond gradient reconcile IndexedSlices across
        branches, which multiplies trace time."""
        return tuple(tf.gather(table, row) for group in
                     (self.depthwise, self.pointwise, self.gamma, self.beta) for table in group)

    @staticmethod
    def apply(x: tf.Tensor, weights: tuple[tf.Tensor, ...]) -> tf.Tensor:
        """Runs the two sep-conv stages with weights from ``gather``."""
        depthwise, pointwise, gamma, beta = weights[0:2], weights[2:4], weights[4:6], weights[6:8]
        for i in range(2):
            x = tf.nn.separable_conv2d(tf.nn.relu(x), depthwise[i], pointwise[i],
                                       strides=[1, 1, 1, 1], padding="SAME")
            x = batch_stats_norm(x, gamma[i], beta[i])
        return x

    def call(self, x, row):
        return self.apply(x, self.gather(row))
