"""The DARTS search network: every edge a mixed op over all 8 primitives.

``call(images, mixing={"normal": w, "reduce": w})`` with ``w`` the ``[14, 8]`` mixing
weights (``softmax(alpha)`` for DARTS): each edge computes ``sum_o w[o] * op_o(x)``, as
DARTS does (every op runs; ``enas_tf.supernet.darts_edges``); or ``w`` a
``SampledMixing`` (GDAS): each edge runs only its sampled op. As in the reference
(``model_search.py``): stem 3x3 conv to 3C + BN, ``num_cells`` cells with reductions at
``num_cells // 3`` and ``2 * num_cells // 3`` (channels double there), inputs
preprocessed by ReLU-1x1-BN (or a factorized reduction after a reduction cell), batch
norm without scale and offset in the cells, pools followed by such a BN, the 4
intermediate nodes concatenated, global average pooling and a dense classifier. Over the
``darts_frc`` space the reduction cells are GDAS's fixed one (``GdasReductionCell``). Batch
norm always uses batch statistics (see ``darts_edges``).

``network="gdas"`` is the network AutoDL-Projects searches with GDAS on this space
(``search_model_gdas_nasnet``, ``_frc_nasnet``): its pools have no BN, a sampled edge
returns ``w[i] * op_i(x)`` only, and a BN (with scale and offset) and a ReLU
(``lastact``) come before the global pooling.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from enas_tf.layers.darts_ops import torch_init
from enas_tf.layers.gdas_reduction import GdasReductionCell
from enas_tf.search_spaces.darts import (NUM_NODES, PRIMITIVES, DartsSearchSpace, edge_index,
                                         reduction_cells)
from enas_tf.supernet.darts_edges import MixedEdge, factorized_reduce, relu_conv_bn
from enas_tf.supernet.mixing import is_sampled
from enas_tf.supernet.shared_ops import batch_stats_norm


SEARCH_NETWORKS = ("darts", "gdas")


class DartsSearchCell(keras.layers.Layer):
    """One search cell: 14 mixed edges; ``call([s0, s1], mixing [14, 8])``."""

    def __init__(self, filters: int, reduction: bool, reduction_prev: bool,
                 gdas: bool = False, recompute_edges: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.reduction, self.reduction_prev = filters, reduction, reduction_prev
        self.edges = [MixedEdge(filters, 2 if reduction and source < 2 else 1, gdas=gdas,
                                recompute=recompute_edges, name=f"edge{node}_{source}")
                      for node in range(2, NUM_NODES + 2) for source in range(node)]

    def build(self, input_shape):
        (*_, channels0), (*_, channels1) = input_shape
        half = self.filters // 2
        shapes = ([(1, 1, channels0, half)] * 2 if self.reduction_prev
                  else [(1, 1, channels0, self.filters)])
        self.preprocess0 = [self.add_weight(shape=shape, initializer=torch_init(),
                                            name=f"preprocess0_conv{i}")
                            for i, shape in enumerate(shapes)]
        self.preprocess1 = self.add_weight(shape=(1, 1, channels1, self.filters),
                                           initializer=torch_init(), name="preprocess1_conv")
        for edge in self.edges:
            edge.build((None, None, None, self.filters))

    def preprocess(self, inputs) -> list[tf.Tensor]:
        """The two cell inputs at this cell's width and resolution."""
        kernels0 = [tf.convert_to_tensor(k) for k in self.preprocess0]
        s0 = (factorized_reduce(inputs[0], *kernels0) if self.reduction_prev
              else relu_conv_bn(inputs[0], kernels0[0]))
        return [s0, relu_conv_bn(inputs[1], tf.convert_to_tensor(self.preprocess1))]

    def call(self, inputs, mixing, weight_gradients=True):
        """``mixing``: ``[14, 8]`` weights (every op runs) or a ``SampledMixing``;
        ``weight_gradients=False``: the edges' kernels get no gradient."""
        states = self.preprocess(inputs)
        relus = [tf.nn.relu(s) for s in states]  # one per node, for all its edges
        rows, index = edge_rows(mixing, states[0].dtype)
        for node in range(2, NUM_NODES + 2):
            states.append(tf.add_n([
                self.edges[e](states[source], rows[e], None if index is None else index[e],
                              relu=relus[source], weight_gradients=weight_gradients)
                for source in range(node) for e in [edge_index(node, source)]]))
            if node < NUM_NODES + 1:  # the last node feeds no edge
                relus.append(tf.nn.relu(states[-1]))
        return tf.concat(states[2:], axis=-1)


def edge_rows(mixing, dtype) -> tuple[list[tf.Tensor], list[tf.Tensor] | None]:
    """Per edge, its mixing row and (sampled mixing only) the index of the op it runs."""
    if is_sampled(mixing):
        return (tf.unstack(tf.cast(mixing.weights, dtype)),
                tf.unstack(tf.cast(mixing.index, tf.int32)))
    return tf.unstack(tf.cast(mixing, dtype)), None


class DartsSupernet(keras.Model):
    """The DARTS search network over ``DartsSearchSpace``.

    Args:
      num_cells: cells in all (DARTS ``layers``: 8 in search).
      filters: channels C of the first stage (16 in search; the stem has 3C).
      network: ``"darts"`` (quark0/darts ``model_search``) or ``"gdas"`` (AutoDL's GDAS
        search network on this space).
      recompute_edges: run each edge's ops again in the backward pass instead of keeping
        their outputs (``darts_edges.recomputed_edge``): less memory, more time.

    Example:

    ```python
    supernet = DartsSupernet(DartsSearchSpace(), num_cells=8, filters=16)
    supernet.build_for((32, 32, 3))
    logits = supernet(images, mixing={"normal": tf.nn.softmax(a_n), "reduce": ...})
    ```
    """

    def __init__(self, search_space: DartsSearchSpace, num_cells: int = 8, filters: int = 16,
                 num_classes: int = 10, stem_multiplier: int = 3, network: str = "darts",
                 recompute_edges: bool = False, **kwargs):
        kwargs.setdefault("name", "darts_supernet")
        super().__init__(**kwargs)
        if num_cells < 3:
            raise ValueError(f"a DARTS network needs at least 3 cells, got {num_cells}.")
        if network not in SEARCH_NETWORKS:
            raise ValueError(f"network must be one of {', '.join(SEARCH_NETWORKS)}, got "
                             f"{network!r}.")
        self.network = network
        self.search_space, self.num_cells, self.filters = search_space, num_cells, filters
        self.stem_conv = keras.layers.Conv2D(stem_multiplier * filters, 3, padding="same",
                                             use_bias=False, kernel_initializer=torch_init(),
                                             name="stem_conv")
        self.stem_gamma = self.add_weight(shape=(stem_multiplier * filters,),
                                          initializer="ones", name="stem_bn_gamma")
        self.stem_beta = self.add_weight(shape=(stem_multiplier * filters,),
                                         initializer="zeros", name="stem_bn_beta")
        self.cells, channels, reduction_prev = [], filters, False
        for i in range(num_cells):
            reduction = i in reduction_cells(num_cells)
            channels *= 2 if reduction else 1
            kind = "reduce" if reduction else "normal"
            if reduction and search_space.fixed_reduction:
                cell = GdasReductionCell(channels, reduction_prev, affine=False,
                                         always_batch_stats=True, name=f"cell{i}_fixed_reduce")
            else:
                cell = DartsSearchCell(channels, reduction, reduction_prev,
                                       gdas=network == "gdas",
                                       recompute_edges=recompute_edges, name=f"cell{i}_{kind}")
            self.cells.append(cell)
            reduction_prev = reduction
        if network == "gdas":  # lastact: BN (scale, offset) and ReLU before the pooling
            width = 4 * channels
            self.lastact_gamma = self.add_weight(shape=(width,), initializer="ones",
                                                 name="lastact_bn_gamma")
            self.lastact_beta = self.add_weight(shape=(width,), initializer="zeros",
                                                name="lastact_bn_beta")
        self.classifier = keras.layers.Dense(num_classes, kernel_initializer=torch_init(),
                                             name="classifier")

    def build_for(self, image_shape: tuple[int, int, int]):
        """Creates every weight by one call on a dummy batch; returns self."""
        uniform = {cell: tf.fill(shape, 1.0 / shape[1])
                   for cell, shape in self.search_space.weight_shapes.items()}
        self(tf.zeros((2, *image_shape)), mixing=uniform, training=False)
        return self

    def arch_input(self, arc: Sequence[int]) -> dict[str, tf.Tensor]:
        """Mixing weights running exactly the genotype ``arc``: for every kept
        ``(input, op)`` pair a 1 on its edge and primitive (a pair kept twice counts twice)."""
        space, mixing = self.search_space, {}
        for cell, cell_arc in zip(space.cell_types, space.split(arc)):
            weights = np.zeros(space.weight_shapes[cell], np.float32)
            for k in range(0, len(cell_arc), 2):
                node, source = 2 + k // 4, cell_arc[k]
                weights[edge_index(node, source), PRIMITIVES.index(space.ops[cell_arc[k + 1]])] += 1
            mixing[cell] = tf.constant(weights)
        return mixing

    def call(self, images, mixing=None, training=None, return_aux=False,
             weight_gradients=True):
        """Logits of ``images`` under ``mixing``; ``weight_gradients=False`` for a pass that
        differentiates only the mixing (an architecture step): the edges then compute no
        kernel gradients."""
        if mixing is None:
            raise ValueError("DartsSupernet needs mixing weights: call(images, mixing=...).")
        s0 = s1 = batch_stats_norm(self.stem_conv(images), tf.convert_to_tensor(self.stem_gamma),
                                   tf.convert_to_tensor(self.stem_beta))
        for cell in self.cells:
            if isinstance(cell, GdasReductionCell):
                s0, s1 = s1, cell([s0, s1], training=True)
            else:
                s0, s1 = s1, cell([s0, s1], mixing["reduce" if cell.reduction else "normal"],
                                  weight_gradients=weight_gradients)
        if self.network == "gdas":
            s1 = tf.nn.relu(batch_stats_norm(s1, tf.convert_to_tensor(self.lastact_gamma),
                                             tf.convert_to_tensor(self.lastact_beta)))
        logits = self.classifier(tf.reduce_mean(s1, axis=[1, 2]))
        return (logits, None) if return_aux else logits
