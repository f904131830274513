"""Shared-weight ops whose weights are indexed by the chosen input node.

The official ENAS micro search keeps separate sep-conv weights for every possible
source node of a slot: each variable has a leading ``num_sources`` axis and the row of
the sampled input index is gathered at run time. Only that row receives gradients
from the task loss. With ``num_sources=1`` (``weight_sharing="compact"``) one row
serves every source.
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
    if in_multi_replica_context():
        mean, variance = cross_replica_moments(x, [0, 1, 2])
        return tf.nn.batch_normalization(x, mean, variance, beta, gamma, BN_EPSILON)
    # One fused op (and one fused gradient op) keeps the switch_case branches small.
    y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, epsilon=BN_EPSILON,
                                               is_training=True)
    return y


class SharedSepConv(keras.layers.Layer):
    """Twice (ReLU -> depthwise KxK -> pointwise 1x1 -> BN) with per-source weight tables."""

    def __init__(self, filters: int, kernel_size: int, num_sources: int, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.num_sources = filters, kernel_size, num_sources

    def build(self, input_shape):
        channels, k, n = self.filters, self.kernel_size, self.num_sources
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

    def gather(self, source: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """The weights of one source row (the only row when ``num_sources`` is 1).

        Gather these *outside* any ``tf.switch_case`` so the branch sees dense tensors;
        gathering inside makes the cond gradient reconcile IndexedSlices across
        branches, which multiplies trace time."""
        tables = [table for group in (self.depthwise, self.pointwise, self.gamma, self.beta)
                  for table in group]
        if self.num_sources == 1:
            return tuple(table[0] for table in tables)
        return tuple(tf.gather(table, source) for table in tables)

    @staticmethod
    def apply(x: tf.Tensor, weights: tuple[tf.Tensor, ...]) -> tf.Tensor:
        """Runs the two sep-conv stages with weights from ``gather``."""
        depthwise, pointwise, gamma, beta = weights[0:2], weights[2:4], weights[4:6], weights[6:8]
        for i in range(2):
            x = tf.nn.separable_conv2d(tf.nn.relu(x), depthwise[i], pointwise[i],
                                       strides=[1, 1, 1, 1], padding="SAME")
            x = batch_stats_norm(x, gamma[i], beta[i])
        return x

    def call(self, x, source):
        return self.apply(x, self.gather(source))
