"""The DARTS mixed edge as one shared ``tf.function`` over explicit weights.

``MixedEdge`` only holds one edge's weights; ``mixed_edge(x, relu, mixing_row, weights,
strides)`` computes ``sum_o mixing_row[o] * op_o(x)`` over the 7 primitives other than
``none`` (which adds nothing to the value or any gradient); ``sampled_edge`` runs only
the sampled primitive (GDAS; ``enas_tf.supernet.mixing``). Because the weights come in
as arguments, TensorFlow traces the function (and its gradient) once per input shape and
stride, not once per edge: a search step of 8 cells has 112 edges but traces 4 edge
bodies, which cut the first call of the quick-start step from minutes to seconds.

Graph optimisation then inlines ``mixed_edge`` into every call site, so the step is
optimised as one graph: a pass computes only the gradients it asks for, and the kernels
fuse as in a plain network. Kept as a separate function call (``_noinline``), DARTS's
first-order step took 1.49x the plain network's time with oneDNN and 1.10x without;
inlined, 1.09x and 0.83x, for a first call of 80-100 s instead of 55-60 s (issue 35,
``benchmarks/README.md``). ``sampled_edge`` (one op per edge, GDAS) stays a function
call: its step is short and its first call is what counts there.

Each primitive is the reference one (quark0/darts ``cnn/operations.py``, as in
``enas_tf.layers.darts_ops``): ReLU, PyTorch padding, depthwise conv, pointwise conv, BN
without scale and offset; pools followed by such a BN (``MixedOp``), except in AutoDL's
GDAS search network (``gdas=True``: ``POOLING`` has no BN, and a sampled edge returns
``w[i] * op_i(x)`` only, ``MixedOp.forward_gdas``). Batch norm uses the
batch statistics only, in training and in evaluation, as the ENAS search supernets do:
running averages of a mixture would describe no single genotype that is evaluated on it.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.layers.darts_ops import pad, torch_depthwise_init, torch_init, torch_pool
from enas_tf.supernet.mixing import held, sampled_output
from enas_tf.supernet.shared_ops import batch_stats_norm

# (name, kernel size, dilation, stages) of the primitives with weights, in weight order.
CONV_PRIMITIVES = (("sep_conv_3x3", 3, 1, 2), ("sep_conv_5x5", 5, 1, 2),
                   ("dil_conv_3x3", 3, 2, 1), ("dil_conv_5x5", 5, 2, 1))


def plain_norm(x: tf.Tensor) -> tf.Tensor:
    """BN with batch statistics, no scale or offset (``affine=False``)."""
    channels = x.shape[-1]
    return batch_stats_norm(x, tf.ones([channels], x.dtype), tf.zeros([channels], x.dtype))


def relu_conv(x: tf.Tensor, depthwise, pointwise, kernel_size: int, strides: int,
              dilation: int = 1, relu: tf.Tensor | None = None) -> tf.Tensor:
    """ReLU -> pad -> depthwise KxK (dilated) -> 1x1 -> BN; the ``DilConv`` stage.
    ``relu``: ``relu(x)`` if the caller has it (one per node, shared by its edges).

    At stride 1, PyTorch's symmetric padding of an odd kernel is TensorFlow's ``SAME``:
    no padded copy of the input is made (and kept for the kernel's gradient)."""
    x = tf.nn.relu(x) if relu is None else relu
    if strides == 1:
        x = tf.nn.depthwise_conv2d(x, depthwise, [1, 1, 1, 1], "SAME",
                                   dilations=[dilation, dilation])
    else:
        x = pad(x, dilation * (kernel_size - 1) // 2)
        step = strides if dilation == 1 else 1  # no kernel for stride and dilation together
        x = tf.nn.depthwise_conv2d(x, depthwise, [1, step, step, 1], "VALID",
                                   dilations=[dilation, dilation])
        if step != strides:
            x = x[:, ::strides, ::strides, :]
    return plain_norm(tf.nn.conv2d(x, pointwise, 1, "VALID"))


def factorized_reduce(x: tf.Tensor, conv1, conv2, relu: tf.Tensor | None = None) -> tf.Tensor:
    """ReLU, two 1x1 stride-2 convs (the second shifted by one pixel), concat, BN."""
    x = tf.nn.relu(x) if relu is None else relu
    return plain_norm(tf.concat([tf.nn.conv2d(x, conv1, 2, "VALID"),
                                 tf.nn.conv2d(x[:, 1:, 1:, :], conv2, 2, "VALID")], axis=-1))


def relu_conv_bn(x: tf.Tensor, kernel) -> tf.Tensor:
    """ReLU -> 1x1 conv -> BN: a cell's input preprocessing (``ReLUConvBN``)."""
    return plain_norm(tf.nn.conv2d(tf.nn.relu(x), kernel, 1, "VALID"))


def primitive(column: int, x: tf.Tensor, weights, strides: int,
              pool_norm: bool = True, relu: tf.Tensor | None = None) -> tf.Tensor:
    """DARTS primitive ``PRIMITIVES[column]`` on ``x`` with an edge's weights
    (``MixedEdge.weight_tensors()``); ``none`` is zeros at the output resolution; pools
    are followed by a BN unless ``pool_norm`` is False (AutoDL's ``POOLING``); ``relu``:
    ``relu(x)``, if the caller has it."""
    if column == 0:
        return tf.zeros_like(x[:, ::strides, ::strides, :])
    if column in (1, 2):
        pooled = torch_pool(x, "max" if column == 1 else "avg", strides)
        return plain_norm(pooled) if pool_norm else pooled
    if column == 3:
        return x if strides == 1 else factorized_reduce(x, *weights[12:14], relu=relu)
    k = sum(2 * stages for *_, stages in CONV_PRIMITIVES[:column - 4])
    _, size, dilation, stages = CONV_PRIMITIVES[column - 4]
    h = x
    for stage in range(stages):
        h = relu_conv(h, weights[k], weights[k + 1], size, strides if stage == 0 else 1,
                      dilation, relu=relu if stage == 0 else None)
        k += 2
    return h


NUM_PRIMITIVES = 4 + len(CONV_PRIMITIVES)


@tf.function
def mixed_edge(x, relu, mixing_row, weights, strides, gdas=False, weight_gradients=True):
    """``sum_o mixing_row[o] * op_o(x)`` over DARTS's primitives (``PRIMITIVES`` order;
    column 0, ``none``, is left out); ``relu``: ``relu(x)``, made once per node for all
    its edges. ``weights``: ``MixedEdge.weight_tensors()``; ``gdas``: AutoDL's GDAS
    network's primitives (no BN after pools); ``weight_gradients=False``: the kernels get
    no gradient (an architecture pass), so none is computed."""
    w, weights = tf.unstack(mixing_row), held(weights, weight_gradients)
    return tf.add_n([w[c] * primitive(c, x, weights, strides, pool_norm=not gdas, relu=relu)
                     for c in range(1, NUM_PRIMITIVES)])


@tf.function(experimental_attributes={"_noinline": True})
def sampled_edge(x, relu, weight_row, index, weights, strides, gdas=False,
                 weight_gradients=True):
    """Only primitive ``index`` runs (``tf.switch_case``); the value and gradients of
    ``enas_tf.supernet.mixing.sampled_output`` (``gdas``: AutoDL's GDAS form on this
    space, ``w[i] * op_i(x)``, and no BN after pools)."""
    weights = held(weights, weight_gradients)
    h = tf.switch_case(index, [lambda c=c: primitive(c, x, weights, strides,
                                                     pool_norm=not gdas, relu=relu)
                               for c in range(NUM_PRIMITIVES)])
    return sampled_output(h, weight_row, index, rest=not gdas)


def recomputed_edge(x, relu, mixing_row, weights, strides: int, gdas: bool, index=None,
                    weight_gradients: bool = True):
    """The edge (``mixed_edge``, or ``sampled_edge`` with ``index``) with a backward pass
    that runs it again instead of keeping its ops' outputs (``tf.recompute_grad``): an
    edge then holds only its input and its ReLU (both shared with the source's other
    edges) between the forward and backward passes, for one more forward of every edge
    per step."""
    def edge(x, relu, mixing_row, *weights):
        if index is None:
            return mixed_edge(x, relu, mixing_row, weights, strides, gdas, weight_gradients)
        return sampled_edge(x, relu, mixing_row, index, weights, strides, gdas,
                            weight_gradients)

    return tf.recompute_grad(edge)(x, relu, mixing_row, *weights)


class MixedEdge(keras.layers.Layer):
    """The weights of one DARTS edge: two sep convs (two stages of depthwise and
    pointwise kernels each), two dilated convs, and for a stride-2 edge the factorized
    reduction that replaces ``skip_connect``. ``call(x, mixing_row)`` runs
    ``mixed_edge``; ``gdas``: the edge of AutoDL's GDAS search network; ``recompute``:
    the edge's ops run again in the backward pass instead of being kept
    (``recomputed_edge``).

    Example:

    ```python
    edge = MixedEdge(16, strides=1)
    edge.build((None, None, None, 16))
    y = edge(x, tf.nn.softmax(alpha_row))   # sum_o w[o] * op_o(x)
    ```
    """

    def __init__(self, filters: int, strides: int, gdas: bool = False,
                 recompute: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides, self.gdas = filters, strides, gdas
        self.recompute = recompute

    def build(self, input_shape):
        channels = self.filters
        if input_shape[-1] != channels:
            raise ValueError(f"{self.name}: expected {channels} input channels, "
                             f"got {input_shape[-1]}.")
        self.kernels = []
        for name, size, _, stages in CONV_PRIMITIVES:
            for stage in range(stages):
                self.kernels.append(self.add_weight(
                    shape=(size, size, channels, 1), initializer=torch_depthwise_init(size),
                    name=f"{name}_depthwise{stage}"))
                self.kernels.append(self.add_weight(
                    shape=(1, 1, channels, channels), initializer=torch_init(),
                    name=f"{name}_pointwise{stage}"))
        if self.strides == 2:
            for i in (1, 2):
                self.kernels.append(self.add_weight(
                    shape=(1, 1, channels, channels // 2), initializer=torch_init(),
                    name=f"skip_connect_conv{i}"))

    def weight_tensors(self) -> tuple[tf.Tensor, ...]:
        """The kernels as tensors (under ``keras.StatelessScope``, its mapped values)."""
        return tuple(tf.convert_to_tensor(kernel) for kernel in self.kernels)

    def call(self, x, mixing_row, index=None, relu=None, weight_gradients=True):
        """The weighted edge, or with ``index`` the sampled one (``supernet.mixing``);
        ``relu``: ``relu(x)`` if the caller has it (a cell makes one per node);
        ``weight_gradients=False``: no gradient for the kernels (an architecture pass)."""
        weights, options = self.weight_tensors(), (self.strides, self.gdas)
        relu = tf.nn.relu(x) if relu is None else relu
        if self.recompute:
            return recomputed_edge(x, relu, mixing_row, weights, *options, index,
                                   weight_gradients)
        if index is None:
            return mixed_edge(x, relu, mixing_row, weights, *options, weight_gradients)
        return sampled_edge(x, relu, mixing_row, index, weights, *options, weight_gradients)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides,
                "gdas": self.gdas, "recompute": self.recompute}
