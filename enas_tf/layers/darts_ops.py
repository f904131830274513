"""The DARTS primitives as Keras layers, with the reference code's exact structure
(quark0/darts ``cnn/operations.py``).

Padding is PyTorch's: symmetric, explicit, then a VALID op, so a stride-2 op sees the
same pixels as the reference (TensorFlow's SAME pads stride-2 inputs on one side only).
Average pooling leaves the padding out of the average (``count_include_pad=False``).
A depthwise convolution with both dilation and stride 2 (TensorFlow has no kernel for
that) runs at stride 1 and keeps every second row and column: the same outputs.
Weights are initialised as PyTorch does (uniform, bound ``1/sqrt(fan_in)``, a
depthwise kernel's fan-in being K*K).
``affine=False`` gives the search network's parameter-free batch norm.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.layers.ops import PACKAGE, batch_norm


def torch_init() -> keras.initializers.Initializer:
    """PyTorch's default conv / linear kernel initialiser (kaiming uniform, a=sqrt(5))."""
    return keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform")


def torch_depthwise_init(kernel_size: int) -> keras.initializers.Initializer:
    """The same for a depthwise kernel: PyTorch's fan-in of a grouped conv is K*K (Keras
    would count K*K*channels), so the bound is ``1/K``."""
    return keras.initializers.RandomUniform(-1.0 / kernel_size, 1.0 / kernel_size)


def pad(x: tf.Tensor, amount: int, value: float = 0.0) -> tf.Tensor:
    if not amount:
        return x
    return tf.pad(x, [[0, 0], [amount, amount], [amount, amount], [0, 0]],
                  constant_values=value)


def torch_pool(x: tf.Tensor, kind: str, strides: int) -> tf.Tensor:
    """3x3 pooling with padding 1 as ``nn.MaxPool2d`` / ``nn.AvgPool2d(...,
    count_include_pad=False)``. At stride 1 that is TensorFlow's ``SAME`` pooling (which
    pads symmetrically and leaves the padding out of the average): no padded copy."""
    if strides == 1:
        pool = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
        return pool(x, 3, 1, "SAME")
    if kind == "max":
        return tf.nn.max_pool2d(pad(x, 1, x.dtype.min), 3, strides, "VALID")
    total = tf.nn.avg_pool2d(pad(x, 1), 3, strides, "VALID")
    count = tf.nn.avg_pool2d(pad(tf.ones_like(x[:1, :, :, :1]), 1), 3, strides, "VALID")
    return total / count


@keras.saving.register_keras_serializable(PACKAGE)
class DartsConv(keras.layers.Layer):
    """ReLU -> [depthwise KxK (dilated) ->] conv -> BN: ``ReLUConvBN`` (``depthwise``
    False) or ``DilConv`` (True) of the reference."""

    def __init__(self, filters: int, kernel_size: int, strides: int = 1, padding: int = 0,
                 dilation: int = 1, depthwise: bool = False, affine: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
        self.padding, self.dilation, self.depthwise, self.affine = (padding, dilation,
                                                                   depthwise, affine)
        if depthwise:
            # Stride and dilation together: stride 1, then subsample (see module docstring).
            self.spatial = keras.layers.DepthwiseConv2D(
                kernel_size, strides=strides if dilation == 1 else 1, padding="valid",
                dilation_rate=dilation, use_bias=False,
                depthwise_initializer=torch_depthwise_init(kernel_size))
            self.conv = keras.layers.Conv2D(filters, 1, use_bias=False,
                                            kernel_initializer=torch_init())
        else:
            self.spatial = None
            self.conv = keras.layers.Conv2D(filters, kernel_size, strides=strides,
                                            padding="valid", use_bias=False,
                                            kernel_initializer=torch_init())
        self.bn = batch_norm(affine=affine)

    def call(self, x, training=None):
        x = pad(tf.nn.relu(x), self.padding)
        if self.spatial is not None:
            x = self.spatial(x)
            if self.dilation > 1 and self.strides > 1:
                x = x[:, ::self.strides, ::self.strides, :]
        return self.bn(self.conv(x), training=training)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "dilation": self.dilation,
                "depthwise": self.depthwise, "affine": self.affine}


@keras.saving.register_keras_serializable(PACKAGE)
class DartsSepConv(keras.layers.Layer):
    """``SepConv``: two depthwise-separable ReLU-conv-BN stages, the stride on the first."""

    def __init__(self, filters: int, kernel_size: int, strides: int = 1, affine: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides, self.affine = (filters, kernel_size,
                                                                     strides, affine)
        padding = kernel_size // 2
        self.first = DartsConv(filters, kernel_size, strides, padding, depthwise=True,
                               affine=affine)
        self.second = DartsConv(filters, kernel_size, 1, padding, depthwise=True, affine=affine)

    def call(self, x, training=None):
        return self.second(self.first(x, training=training), training=training)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "affine": self.affine}


@keras.saving.register_keras_serializable(PACKAGE)
class DartsFactorizedReduce(keras.layers.Layer):
    """``FactorizedReduce``: ReLU, two 1x1 stride-2 convs (the second on the input shifted
    by one pixel), concatenated, BN."""

    def __init__(self, filters: int, affine: bool = True, **kwargs):
        super().__init__(**kwargs)
        if filters % 2:
            raise ValueError(f"FactorizedReduce needs an even channel count, got {filters}.")
        self.filters, self.affine = filters, affine
        self.conv1, self.conv2 = (keras.layers.Conv2D(filters // 2, 1, strides=2, use_bias=False,
                                                      kernel_initializer=torch_init())
                                  for _ in range(2))
        self.bn = batch_norm(affine=affine)

    def call(self, x, training=None):
        x = tf.nn.relu(x)
        out = tf.concat([self.conv1(x), self.conv2(x[:, 1:, 1:, :])], axis=-1)
        return self.bn(out, training=training)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "affine": self.affine}


@keras.saving.register_keras_serializable(PACKAGE)
class DartsPool(keras.layers.Layer):
    """3x3 max or average pooling (the final network has no BN after pools; the search
    network's mixed edges add one, ``enas_tf.supernet.darts_edges``)."""

    def __init__(self, kind: str, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.kind, self.strides = kind, strides

    def call(self, x, training=None):
        return torch_pool(x, self.kind, self.strides)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "strides": self.strides}


@keras.saving.register_keras_serializable(PACKAGE)
class DartsDropPath(keras.layers.Layer):
    """Zeroes whole examples with probability ``rate`` (a variable the loop sets) and
    divides the others by ``1 - rate``, in training only (DARTS ``utils.drop_path``)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator()  # checkpointed: run_dir.model_state

    def build(self, input_shape):
        self.rate = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                    name="rate")

    def call(self, x, training=None):
        if not training:
            return x
        keep = 1.0 - self.rate
        mask = tf.floor(keep + keras.random.uniform([tf.shape(x)[0], 1, 1, 1],
                                                    seed=self.seed_generator))
        return tf.where(keep > 0, x / keep * mask, tf.zeros_like(x))


def make_primitive(name: str, filters: int, strides: int,
                   affine: bool) -> keras.layers.Layer | None:
    """The layer of DARTS primitive ``name``; None for ``none`` (it adds nothing) and for
    a stride-1 ``skip_connect`` (the identity)."""
    if name == "none":
        return None
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        return DartsPool(name[:3], strides, name=name)
    if name == "skip_connect":
        return None if strides == 1 else DartsFactorizedReduce(filters, affine, name=name)
    kind, size = name[:3], int(name[-1])
    if kind == "sep":
        return DartsSepConv(filters, size, strides, affine, name=name)
    if kind == "dil":
        return DartsConv(filters, size, strides, padding=size - 1, dilation=2, depthwise=True,
                         affine=affine, name=name)
    raise ValueError(f"unknown DARTS primitive {name!r}.")
