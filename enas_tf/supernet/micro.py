"""The ENAS micro supernet: shared weights for every cell architecture.

The architecture arrives as an int32 tensor, so one traced ``tf.function`` serves every
architecture. Each slot reads its input from a TensorList of the cell's nodes by index
(a selection, no copy) and picks its op with ``tf.switch_case``, so only the chosen op
runs.

Two weight layouts (``weight_sharing``):

* ``"official"``: as the official code, sep-conv weights per source node of each slot
  and a cell-output 1x1 kernel per node.
* ``"compact"``: one sep-conv weight set per slot and op for every source, and one
  cell-output kernel for every node. Each weight then trains whenever its op runs,
  whatever the sampled wiring; under sampled wiring the shared weights learn about
  twice as fast (``benchmarks/shared_weight_learning.py``).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.layers.cell_io import CellInputCalibration, CellOutput
from enas_tf.layers.ops import branch_max_pool, pool
from enas_tf.models.micro_skeleton import WEIGHT_SHARING, MicroSkeleton, check_weight_sharing
from enas_tf.search_spaces.micro import MicroSearchSpace
from enas_tf.supernet.shared_ops import SharedSepConv

class MicroSupernetCell(keras.layers.Layer):
    """One cell of the supernet; ``call(inputs, cell_arc)`` with ``cell_arc`` int32[4B].

    The sep-conv weights of all slots live in two tables (3x3, 5x5) with one row per
    (node, slot, source) (official) or per (node, slot) (compact); ``row_offsets[n][s]``
    is the first row of node ``n + 2``'s slot ``s``.
    """

    def __init__(self, filters: int, num_nodes: int, weight_sharing: str = "official",
                 **kwargs):
        super().__init__(**kwargs)
        self.filters, self.num_nodes = filters, num_nodes
        self.per_source = check_weight_sharing(weight_sharing) == "official"
        self.calibration = CellInputCalibration(filters, name="calibration")
        self.output_combine = CellOutput(filters, num_nodes, per_node_kernels=self.per_source,
                                         name="output")
        self.row_offsets, rows = [], 0
        for node_id in range(2, num_nodes + 2):
            self.row_offsets.append((rows, rows + (node_id if self.per_source else 1)))
            rows += 2 * (node_id if self.per_source else 1)
        self.sep_convs = (SharedSepConv(filters, 3, rows, name="sep_conv_3x3"),
                          SharedSepConv(filters, 5, rows, name="sep_conv_5x5"))

    def build(self, input_shape):
        self.calibration.build(input_shape)
        shape = self.calibration.compute_output_shape(input_shape)[1]
        for table in self.sep_convs:
            table.build(shape)
        self.output_combine.build(shape)

    def row(self, node: int, slot: int, source):
        """The table row of searched node ``node + 2``'s ``slot`` fed by ``source``."""
        offset = self.row_offsets[node][slot]
        return offset + source if self.per_source else tf.constant(offset)

    def call(self, inputs, cell_arc, training=None):
        nodes = self.calibration(inputs, training=training)
        # One gather and one unstack per table for all slots (per-slot gathers or
        # slices would multiply the gradient ops); slot i takes row i of each.
        rows = tf.stack([self.row(n, slot, cell_arc[4 * n + 2 * slot])
                         for n in range(self.num_nodes) for slot in range(2)])
        sep3, sep5 = ([tf.unstack(w) for w in table.gather(rows)] for table in self.sep_convs)
        # The nodes so far, as a TensorList that each slot reads its input from.
        node_list = tf.raw_ops.TensorListReserve(
            element_shape=[-1 if d is None else d for d in nodes[0].shape],
            num_elements=self.num_nodes + 2, element_dtype=nodes[0].dtype)
        for k, node in enumerate(nodes):
            node_list = tf.raw_ops.TensorListSetItem(input_handle=node_list, index=k, item=node)
        for n in range(self.num_nodes):
            outputs = []
            for slot in range(2):
                i = 2 * n + slot
                outputs.append(run_slot(node_list, cell_arc[4 * n + 2 * slot],
                                        cell_arc[4 * n + 2 * slot + 1],
                                        tuple(w[i] for w in sep3), tuple(w[i] for w in sep5),
                                        tuple(nodes[0].shape)))
            nodes.append(outputs[0] + outputs[1])
            node_list = tf.raw_ops.TensorListSetItem(input_handle=node_list, index=n + 2,
                                                     item=nodes[-1])
        used = tf.reduce_max(tf.one_hot(cell_arc[0::2], self.num_nodes + 2, dtype=tf.int32), 0)
        unused = tf.reshape(tf.where(tf.equal(used, 0)), [-1])
        return self.output_combine(nodes, unused=unused, training=training)


@tf.function(experimental_attributes={"_noinline": True})
def run_slot(node_list, source, op, sep3_weights, sep5_weights, shape):
    """One slot: read node ``source`` from ``node_list``, run op ``op`` on it.

    A ``tf.function`` called from the step rather than inlined in it: TensorFlow traces
    it (and builds its gradient) once per node shape, not once per slot, and
    ``_noinline`` keeps graph optimisation from copying it back into every call site.
    Reading the input from a TensorList copies nothing, and its gradient reaches only
    the node read: selecting among the nodes with ``tf.switch_case`` instead gave every
    other node a zero gradient to allocate and add (1.36x the fixed model's peak memory,
    against 1.24x, ``benchmarks/peak_memory.py``), and stacking them to gather one
    copied them all. Max pooling uses ``branch_max_pool``, whose gradient stays on the
    fast kernel inside the branch.
    """
    x = tf.raw_ops.TensorListGetItem(input_handle=node_list, index=source,
                                     element_shape=[-1 if d is None else d for d in shape],
                                     element_dtype=sep3_weights[0].dtype)
    return tf.switch_case(op, [
        lambda: SharedSepConv.apply(x, sep3_weights),
        lambda: SharedSepConv.apply(x, sep5_weights),
        lambda: pool(x, "avg"),
        lambda: branch_max_pool(x),
        lambda: tf.identity(x),
    ])


class MicroSupernet(MicroSkeleton):
    """Shared-weight network over ``MicroSearchSpace``; ``call(images, arc=...)``.

    ``arc`` is an int32 tensor of the flat architecture (normal cell, then reduce cell).
    Batch norm always uses batch statistics, as in the official search.
    ``weight_sharing`` is ``"official"`` or ``"compact"`` (see the module docstring).

    Example:

    ```python
    space = MicroSearchSpace(num_nodes=5)
    supernet = MicroSupernet(space, num_layers=6, filters=20).build_for((32, 32, 3))
    arc = MicroController(space).sample()[0]
    logits = supernet(images, arc=arc, training=True)
    ```

    Args:
      search_space: the micro space (its ``num_nodes`` and ops).
      num_layers: ENAS's ``child_num_layers`` (cells = num_layers + 2; 6 in search).
      filters: channels C of the first stage (20 in search).
      num_classes, keep_prob: the classifier's outputs and dropout keep probability.
      use_aux_head: the auxiliary head (its loss weighted by ``aux_weight`` in training).
      weight_sharing: ``"official"`` or ``"compact"``.
    """

    def __init__(self, search_space: MicroSearchSpace, num_layers: int = 6, filters: int = 20,
                 num_classes: int = 10, keep_prob: float = 0.9, use_aux_head: bool = True,
                 weight_sharing: str = "official", **kwargs):
        self.search_space = search_space
        self.weight_sharing = check_weight_sharing(weight_sharing)
        kwargs.setdefault("name", "micro_supernet")
        super().__init__(num_layers, filters, num_classes, keep_prob=keep_prob,
                         use_aux_head=use_aux_head, always_batch_stats=True, **kwargs)

    def make_cell(self, layer_id, filters, is_reduction):
        kind = "reduce" if is_reduction else "normal"
        return MicroSupernetCell(filters, self.search_space.num_nodes, self.weight_sharing,
                                 name=f"cell{layer_id}_{kind}")

    def call(self, images, arc=None, training=None, return_aux=False):
        if arc is None:
            raise ValueError("MicroSupernet needs an architecture: call(images, arc=...).")
        arc = tf.cast(tf.convert_to_tensor(arc), tf.int32)
        half = self.search_space.cell_length
        cell_arcs = {False: arc[:half], True: arc[half:]}

        def call_cell(cell, layers, is_reduction, bn):
            return cell(layers, cell_arc=cell_arcs[is_reduction], training=bn)

        return self._forward(images, call_cell, training, return_aux)

    def _build_kwargs(self):
        return {"arc": tf.zeros([self.search_space.num_decisions], tf.int32)}
