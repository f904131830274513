"""The ENAS macro supernet: every layer holds all its ops, runs only the sampled one.

The architecture arrives as an int32 tensor, so one traced step serves every
architecture. A layer picks its op with ``tf.switch_case`` over its branches (each with
its own weights, as the official whole-channel search), then, from layer 1 on, adds the
skipped tensors and normalises: ``BN(op(x) + sum of the skipped tensors)``. The skipped
tensors are read from a TensorList of the stage's stored tensors by index, so the sum
costs what the chosen skips cost and its gradient reaches only them.

Unlike the official code, each branch runs its own op: the official search built the
branches as ``lambda: y`` in a loop, so every branch returned the last one (max pool)
and only the skips were ever searched.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.layers.macro_ops import MacroBranch
from enas_tf.layers.ops import batch_norm
from enas_tf.models.macro_skeleton import MacroSkeleton
from enas_tf.search_spaces.macro import MacroSearchSpace, layer_start


class MacroSupernetLayer(keras.layers.Layer):
    """Layer ``layer_id`` with one branch per op; ``call(x, op, skip_sum)``."""

    def __init__(self, layer_id: int, filters: int, ops, **kwargs):
        super().__init__(**kwargs)
        self.layer_id, self.filters = layer_id, filters
        self.branches = [MacroBranch(op, filters, inside_switch_case=True, name=op) for op in ops]
        self.skip_bn = batch_norm(name="skip_bn") if layer_id > 0 else None

    def build(self, input_shape):
        # Every branch now: an eager call runs only the chosen one.
        for branch in self.branches:
            branch.build(input_shape)
        if self.skip_bn is not None:
            self.skip_bn.build(tuple(input_shape[:-1]) + (self.filters,))

    def call(self, x, op, skip_sum=None, training=None):
        # Default arguments bind each branch now (the official late-binding bug).
        out = tf.switch_case(op, [lambda branch=branch: branch(x, training=training)
                                  for branch in self.branches])
        if self.skip_bn is None:
            return out
        return self.skip_bn(out + skip_sum, training=training)


def _element_shape(x: tf.Tensor) -> list[int]:
    return [-1 if d is None else d for d in x.shape]


class MacroSupernet(MacroSkeleton):
    """Shared-weight network over ``MacroSearchSpace``; ``call(images, arc=...)``.

    Batch norm uses batch statistics in training and moving averages otherwise (the
    official macro search rewards architectures in inference mode).

    Example:

    ```python
    space = MacroSearchSpace(num_layers=12)
    supernet = MacroSupernet(space, filters=36).build_for((32, 32, 3))
    logits = supernet(images, arc=MacroController(space).sample()[0], training=True)
    ```

    Args:
      search_space: the macro space (its ``num_layers`` and branches).
      filters: channels of every layer (36 in the official search).
      num_classes: outputs of the classifier.
      keep_prob: dropout keep probability before the classifier.
    """

    def __init__(self, search_space: MacroSearchSpace, filters: int = 36, num_classes: int = 10,
                 keep_prob: float = 0.9, **kwargs):
        kwargs.setdefault("name", "macro_supernet")
        super().__init__(search_space, filters, num_classes, keep_prob=keep_prob,
                         double_channels=False, **kwargs)

    def make_layer(self, layer_id, filters):
        return MacroSupernetLayer(layer_id, filters, self.search_space.ops,
                                  name=f"layer{layer_id}")

    def _build_kwargs(self):
        return {"arc": tf.zeros([self.search_space.num_decisions], tf.int32)}

    def call(self, images, arc=None, training=None, return_aux=False):
        if arc is None:
            raise ValueError("MacroSupernet needs an architecture: call(images, arc=...).")
        arc = tf.cast(tf.convert_to_tensor(arc), tf.int32)
        stored = [self._stem(images, training)]
        tensors = self._tensor_list(stored)
        for layer_id, layer in enumerate(self.layer_blocks):
            start = layer_start(layer_id)
            skip_sum = None
            if layer_id > 0:
                bits = arc[start + 1:start + 1 + layer_id]
                chosen = tf.cast(tf.reshape(tf.where(tf.equal(bits, 1)), [-1]), tf.int32)
                skipped = tf.raw_ops.TensorListGather(
                    input_handle=tensors, indices=chosen, element_shape=_element_shape(stored[0]),
                    element_dtype=stored[0].dtype)
                skip_sum = tf.reduce_sum(skipped, axis=0)  # zeros when nothing is skipped
            stored.append(layer(stored[-1], arc[start], skip_sum, training=training))
            tensors = tf.raw_ops.TensorListSetItem(input_handle=tensors, index=len(stored) - 1,
                                                   item=stored[-1])
            if layer_id in self.pool_ids:
                stored = self._maybe_pool(layer_id, stored, training)
                tensors = self._tensor_list(stored)
        return self._head(stored[-1], training, return_aux)

    def _tensor_list(self, stored: list) -> tf.Tensor:
        """A TensorList with room for every tensor a stage can store, holding ``stored``."""
        tensors = tf.raw_ops.TensorListReserve(
            element_shape=_element_shape(stored[0]),
            num_elements=self.search_space.num_layers + 1, element_dtype=stored[0].dtype)
        for index, x in enumerate(stored):
            tensors = tf.raw_ops.TensorListSetItem(input_handle=tensors, index=index, item=x)
        return tensors
