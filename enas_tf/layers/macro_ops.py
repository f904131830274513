"""The ops of an ENAS macro layer, with the official structure of search and final nets.

Search (``general_child._conv_branch`` / ``_pool_branch``): 1x1 conv -> BN -> ReLU, then
a KxK conv (or depthwise KxK + pointwise) -> BN -> ReLU, or a 3x3 pool. The official
code normalises that second conv with its masked batch norm, whose epsilon is 1e-3.

Final (``_fixed_layer``): ReLU -> 1x1 conv -> BN -> ReLU -> KxK conv -> BN. The official
final network builds the separable ops as plain convolutions and has no pooling ops (a
bug, hence its 4-branch final script); here they are what their names say: a separable
conv, and ReLU -> 1x1 conv -> BN -> 3x3 pool. ``sep_as_conv=True`` rebuilds the
published network exactly as the official code ran it.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.layers.ops import PACKAGE, batch_norm, branch_max_pool, conv, pool

MASKED_BN_EPSILON = 1e-3  # official batch_norm_with_mask, used by the search conv branches


def op_parts(op: str) -> tuple[str, int]:
    """``("conv" | "sep" | "avg" | "max", kernel size)`` of a macro op name."""
    kind = {"conv": "conv", "sep": "sep", "avg": "avg", "max": "max"}.get(op.split("_")[0])
    if kind is None or not op[-1].isdigit():
        raise ValueError(f"unknown macro op {op!r}.")
    return kind, int(op[-1])


@keras.saving.register_keras_serializable(PACKAGE)
class MacroBranch(keras.layers.Layer):
    """One op of a macro layer mapping its input to ``filters`` channels.

    Args:
      op: a ``MACRO_OPS`` name.
      filters: output channels.
      final: the final network's structure (see the module docstring), else search's.
      sep_as_conv: final only: separable ops as plain convs, as the official final net.
      inside_switch_case: max pooling through ``branch_max_pool``, whose gradient stays
        fast inside ``tf.switch_case`` (same values and gradient).
    """

    def __init__(self, op: str, filters: int, final: bool = False, sep_as_conv: bool = False,
                 inside_switch_case: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.op, self.filters, self.final = op, filters, final
        self.sep_as_conv, self.inside_switch_case = sep_as_conv, inside_switch_case
        self.kind, self.kernel_size = op_parts(op)
        if sep_as_conv and self.kind == "sep":
            self.kind = "conv"
        self.conv1, self.bn1 = conv(filters, 1), batch_norm()
        self.conv2 = self.bn2 = None
        if self.kind == "conv":
            self.conv2 = conv(filters, self.kernel_size)
        elif self.kind == "sep":
            self.conv2 = keras.layers.SeparableConv2D(
                filters, self.kernel_size, padding="same", use_bias=False,
                depthwise_initializer="he_normal", pointwise_initializer="he_normal")
        if self.conv2 is not None:
            self.bn2 = batch_norm(epsilon=1e-5 if final else MASKED_BN_EPSILON)

    def build(self, input_shape):
        shape = tuple(input_shape[:-1]) + (self.filters,)
        self.conv1.build(input_shape)
        self.bn1.build(shape)
        if self.conv2 is not None:
            self.conv2.build(shape)
            self.bn2.build(shape)

    def _pool(self, x):
        if self.kind == "max" and self.inside_switch_case:
            return branch_max_pool(x)
        return pool(x, self.kind)

    def call(self, x, training=None):
        if self.final:
            x = self.bn1(self.conv1(tf.nn.relu(x)), training=training)
            if self.conv2 is None:
                return self._pool(x)
            return self.bn2(self.conv2(tf.nn.relu(x)), training=training)
        x = tf.nn.relu(self.bn1(self.conv1(x), training=training))
        if self.conv2 is None:
            return self._pool(x)
        return tf.nn.relu(self.bn2(self.conv2(x), training=training))

    def get_config(self):
        return {**super().get_config(), "op": self.op, "filters": self.filters,
                "final": self.final, "sep_as_conv": self.sep_as_conv,
                "inside_switch_case": self.inside_switch_case}
