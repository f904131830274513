"""Building blocks of the ENAS micro networks, with the official op structure.

Every convolution is bias-free and He-normal initialised; every batch norm uses the
official momentum 0.9 and epsilon 1e-5 (Keras' defaults are 0.99 and 1e-3) and, with
several replicas, statistics over the whole global batch.
``bn_training`` lets the search supernet force batch statistics in every pass,
as the official micro search does.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.distribute.collectives import cross_replica_moments

BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
PACKAGE = "enas_tf"


@keras.saving.register_keras_serializable(PACKAGE)
class ReplicaBatchNorm(keras.layers.BatchNormalization):
    """Batch norm whose training statistics cover the global batch of all replicas.

    With one replica it is Keras' ``BatchNormalization``; with several, one all-reduce
    per call (Keras' ``synchronized=True`` needs three and a batch-sized count tensor).
    A 2-replica step therefore normalises exactly like the 1-replica step.
    """

    def _moments(self, inputs, mask):
        if mask is not None:
            return super()._moments(inputs, mask)
        return cross_replica_moments(inputs, self._reduction_axes)


def batch_norm(name: str | None = None, epsilon: float = BN_EPSILON,
               affine: bool = True) -> keras.layers.BatchNormalization:
    """Synchronised BN, momentum 0.9; ``affine=False``: no scale and offset (DARTS search)."""
    return ReplicaBatchNorm(momentum=BN_MOMENTUM, epsilon=epsilon, center=affine,
                            scale=affine, name=name)


def conv(filters: int, kernel_size: int, strides: int = 1, name: str | None = None,
         padding: str = "same") -> keras.layers.Conv2D:
    return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                               use_bias=False, kernel_initializer="he_normal", name=name)


def pool(x: tf.Tensor, kind: str, strides: int = 1) -> tf.Tensor:
    """3x3 SAME pooling; ``kind`` is ``avg`` or ``max`` (no BN after, as official)."""
    fn = tf.nn.avg_pool2d if kind == "avg" else tf.nn.max_pool2d
    return fn(x, ksize=3, strides=strides, padding="SAME")


def branch_max_pool(x: tf.Tensor) -> tf.Tensor:
    """3x3 stride-1 SAME max pool for use inside a ``tf.switch_case`` branch.

    Same values and gradient as ``pool(x, "max")``, but the gradient recomputes the pool
    next to its backward op. Inside control flow the forward and backward ops land in
    different function graphs, so oneDNN cannot hand its forward workspace to the
    gradient and TensorFlow falls back to a generic MaxPoolGrad kernel, which measured
    5x slower (53 ms against 10 ms at batch 160, 32x32x20). Recomputing the pool costs
    one cheap forward pass and restores the fast kernel.
    """
    # The identity puts the input in the branch's own graph, where the gradient
    # machinery of switch_case can find it when the gradient refers to it.
    return _max_pool_recomputed_in_gradient(tf.identity(x))


@tf.custom_gradient
def _max_pool_recomputed_in_gradient(x):
    def grad(dy):
        with tf.GradientTape() as tape:
            tape.watch(x)
            recomputed = pool(x, "max")
        return tape.gradient(recomputed, x, output_gradients=dy)

    return pool(x, "max"), grad


@keras.saving.register_keras_serializable(PACKAGE)
class ReLUConvBN(keras.layers.Layer):
    """ReLU -> KxK conv -> BN; the official channel-calibration block."""

    def __init__(self, filters: int, kernel_size: int = 1, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
        self.conv = conv(filters, kernel_size, strides)
        self.bn = batch_norm()

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.bn.build(tuple(input_shape[:-1]) + (self.filters,))

    def call(self, x, training=None):
        return self.bn(self.conv(tf.nn.relu(x)), training=training)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides}


@keras.saving.register_keras_serializable(PACKAGE)
class FactorizedReduction(keras.layers.Layer):
    """Halves the resolution with two shifted 1x1 stride-2 paths of C/2 channels each.

    Path 2 is shifted by one pixel so the two paths together see every pixel. There is
    no ReLU inside; callers add one where the official code does.
    """

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        if filters % 2:
            raise ValueError(f"FactorizedReduction needs an even channel count, got {filters}.")
        self.filters = filters
        self.path1 = conv(filters // 2, 1)
        self.path2 = conv(filters // 2, 1)
        self.bn = batch_norm()

    def build(self, input_shape):
        self.path1.build(input_shape)
        self.path2.build(input_shape)
        self.bn.build(tuple(input_shape[:-1]) + (self.filters,))

    def call(self, x, training=None):
        path1 = self.path1(x[:, ::2, ::2, :])
        shifted = tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]])[:, 1:, 1:, :]
        path2 = self.path2(shifted[:, ::2, ::2, :])
        return self.bn(tf.concat([path1, path2], axis=-1), training=training)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(PACKAGE)
class SepConv(keras.layers.Layer):
    """Twice (ReLU -> depthwise KxK -> pointwise 1x1 -> BN); stride on the first only."""

    def __init__(self, filters: int, kernel_size: int, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
        self.convs = [
            keras.layers.SeparableConv2D(
                filters, kernel_size, strides=strides if i == 0 else 1, padding="same",
                use_bias=False, depthwise_initializer="he_normal",
                pointwise_initializer="he_normal") for i in range(2)]
        self.bns = [batch_norm() for _ in range(2)]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for conv_layer, bn in zip(self.convs, self.bns):
            conv_layer.build(shape)
            shape = tuple(conv_layer.compute_output_shape(shape))
            bn.build(shape)

    def call(self, x, training=None):
        for conv_layer, bn in zip(self.convs, self.bns):
            x = bn(conv_layer(tf.nn.relu(x)), training=training)
        return x

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides}


@keras.saving.register_keras_serializable(PACKAGE)
class AuxHead(keras.layers.Layer):
    """Auxiliary classifier: ReLU, avgpool 5x5/3, 1x1 conv 128, BN, ReLU, conv 768, BN, ReLU,
    global pool, bias-free dense (official ``micro_child``). The 768-channel conv's kernel
    covers the whole pooled map and is SAME-padded, as official (on a 2x2 map it sees
    zero padding and keeps 2x2 before the global pool). Its loss weight is set by the
    training loop."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.conv1, self.bn1 = conv(128, 1), batch_norm()
        self.bn2 = batch_norm()
        self.classifier = keras.layers.Dense(num_classes, use_bias=False,
                                             kernel_initializer="he_normal")

    def build(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        if height is None or width is None or height < 5 or width < 5:
            raise ValueError(
                f"the auxiliary head needs feature maps of at least 5x5, got {height}x{width} "
                "(images too small for this many reductions); disable it with "
                "aux_weight=0 (--aux_weight=0).")
        pooled = ((height - 5) // 3 + 1, (width - 5) // 3 + 1)
        self.conv1.build(input_shape)
        self.bn1.build((None, *pooled, 128))
        # The second conv's kernel covers the whole remaining map, SAME-padded as official.
        self.conv2 = conv(768, pooled, padding="same")
        self.conv2.build((None, *pooled, 128))
        self.bn2.build((None, *pooled, 768))
        self.classifier.build((None, 768))

    def call(self, x, training=None):
        x = tf.nn.avg_pool2d(tf.nn.relu(x), ksize=5, strides=3, padding="VALID")
        x = tf.nn.relu(self.bn1(self.conv1(x), training=training))
        x = tf.nn.relu(self.bn2(self.conv2(x), training=training))
        return self.classifier(tf.reduce_mean(x, axis=[1, 2]))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
