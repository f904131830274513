"""The NAS-Bench-201 supernet: the benchmark's skeleton with every edge holding all 5 ops.

``call(images, arc)`` takes the architecture in any form a strategy uses
(``enas_tf.supernet.mixing``): 6 integers (ENAS, random: one op per edge), a ``[6, 5]``
weight tensor (DARTS: every op runs, weighted), or a ``SampledMixing`` (GDAS: only the
sampled op runs, straight-through weights); a ``{"cell": ...}`` mapping of either is
accepted too. One trace serves every architecture. As in AutoDL-Projects' search cells,
the ops' batch norm has no scale and offset; every batch norm uses batch statistics in
training and evaluation (NAS-Bench-201's better setting, ``track_running_stats=False``).
Edges are shared non-inlined ``tf.function``s over explicit kernels, traced once per width.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import keras
import tensorflow as tf

from enas_tf.layers.darts_ops import pad, torch_init, torch_pool
from enas_tf.models.nb201_network import NasBench201Skeleton
from enas_tf.search_spaces.nb201 import EDGES, NUM_NODES, OPS, NasBench201SearchSpace
from enas_tf.supernet.darts_edges import plain_norm
from enas_tf.supernet.mixing import discrete_mixing, held, is_sampled, sampled_output


def nb201_op(op: int, x: tf.Tensor, conv1x1, conv3x3) -> tf.Tensor:
    """Op ``OPS[op]`` of a search edge on ``x``."""
    name = OPS[op]
    if name == "none":
        return tf.zeros_like(x)
    if name == "skip_connect":
        return x
    if name == "avg_pool_3x3":
        return torch_pool(x, "avg", 1)
    kernel, amount = (conv1x1, 0) if name == "nor_conv_1x1" else (conv3x3, 1)
    return plain_norm(tf.nn.conv2d(pad(tf.nn.relu(x), amount), kernel, 1, "VALID"))


@tf.function(experimental_attributes={"_noinline": True})
def weighted_edge(x, weight_row, conv1x1, conv3x3, weight_gradients=True):
    """``sum_o w[o] * op_o(x)`` (``none`` adds nothing and is left out)."""
    w, (conv1x1, conv3x3) = tf.unstack(weight_row), held([conv1x1, conv3x3], weight_gradients)
    return tf.add_n([w[o] * nb201_op(o, x, conv1x1, conv3x3) for o in range(1, len(OPS))])


@tf.function(experimental_attributes={"_noinline": True})
def sampled_edge(x, weight_row, index, conv1x1, conv3x3, weight_gradients=True):
    """Only op ``index`` runs (``tf.switch_case``)."""
    conv1x1, conv3x3 = held([conv1x1, conv3x3], weight_gradients)
    h = tf.switch_case(index, [lambda o=o: nb201_op(o, x, conv1x1, conv3x3)
                               for o in range(len(OPS))])
    return sampled_output(h, weight_row, index)


class NasBench201SearchCell(keras.layers.Layer):
    """The 6 edges' kernels (a 1x1 and a 3x3 conv each); ``call(x, mixing)``."""

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters

    def build(self, input_shape):
        c = self.filters
        self.kernels = [(self.add_weight(shape=(1, 1, c, c), initializer=torch_init(),
                                         name=f"edge{k}_conv1x1"),
                         self.add_weight(shape=(3, 3, c, c), initializer=torch_init(),
                                         name=f"edge{k}_conv3x3"))
                        for k in range(len(EDGES))]

    def call(self, x, mixing, weight_gradients=True):
        nodes = [x]
        sampled = is_sampled(mixing)
        rows = tf.unstack(tf.cast(mixing.weights if sampled else mixing, x.dtype))
        index = tf.unstack(mixing.index) if sampled else None
        for node in range(1, NUM_NODES):
            terms = []
            for k, (target, source) in enumerate(EDGES):
                if target != node:
                    continue
                kernels = [tf.convert_to_tensor(w) for w in self.kernels[k]]
                terms.append(
                    sampled_edge(nodes[source], rows[k], index[k], *kernels, weight_gradients)
                    if sampled else
                    weighted_edge(nodes[source], rows[k], *kernels, weight_gradients))
            nodes.append(tf.add_n(terms))
        return nodes[-1]


class NasBench201Supernet(NasBench201Skeleton):
    """The weight-sharing network of the NAS-Bench-201 space.

    Example:

    ```python
    supernet = NasBench201Supernet(NasBench201SearchSpace()).build_for((32, 32, 3))
    logits = supernet(images, tf.constant([3, 0, 3, 1, 0, 1]))    # one cell
    logits = supernet(images, tf.nn.softmax(alpha))               # DARTS's mixture
    ```

    Args:
      search_space: the NAS-Bench-201 space.
      filters: channels of the first stage (16 in the benchmark).
      cells_per_stage: N, cells per stage (5).
      num_classes: outputs of the classifier.
    """

    def __init__(self, search_space: NasBench201SearchSpace, filters: int = 16,
                 cells_per_stage: int = 5, num_classes: int = 10, **kwargs):
        self.search_space = search_space
        kwargs.setdefault("name", "nb201_supernet")
        super().__init__(filters, cells_per_stage, num_classes, always_batch_stats=True,
                         **kwargs)

    def make_cell(self, filters: int, index: int) -> keras.layers.Layer:
        return NasBench201SearchCell(filters, name=f"cell{index}")

    def arch_input(self, arc: Sequence[int]) -> tf.Tensor:
        return tf.constant(self.search_space.validate(arc), tf.int32)

    def build_for(self, image_shape: tuple[int, int, int]):
        self(tf.zeros((2, *image_shape)), self.arch_input([0] * len(EDGES)), training=False)
        return self

    def call(self, images, arc=None, training=None, return_aux=False,
             weight_gradients=True):
        """Logits under ``arc``; ``weight_gradients=False``: the edges' kernels get no
        gradient (an architecture pass), so none is computed."""
        if arc is None:
            raise ValueError("NasBench201Supernet needs an architecture: call(images, arc).")
        if isinstance(arc, Mapping):
            arc = arc["cell"]
        if not is_sampled(arc) and tf.as_dtype(arc.dtype).is_integer:
            arc = discrete_mixing(arc, len(OPS))
        logits = self.run(images, training,
                          lambda cell, x: cell(x, arc, weight_gradients=weight_gradients))
        return (logits, None) if return_aux else logits
