"""A plain Keras network for one fixed micro architecture: only the chosen ops exist.

It has the same skeleton and cell edges as the supernet, so the same architecture gives
the same computation. That makes it the reference for benchmarks and for checking that
the supernet runs the ops the architecture names.
"""

from __future__ import annotations

from typing import Sequence

import keras

from enas_tf.layers.cell_io import CellInputCalibration, CellOutput
from enas_tf.layers.ops import PACKAGE, SepConv, pool
from enas_tf.models.micro_skeleton import MicroSkeleton, check_weight_sharing
from enas_tf.search_spaces.micro import MicroSearchSpace, unused_nodes


@keras.saving.register_keras_serializable(PACKAGE)
class FixedMicroCell(keras.layers.Layer):
    """A micro cell with a constant architecture ``cell_arc`` (4 ints per node)."""

    def __init__(self, filters: int, cell_arc: Sequence[int], ops: Sequence[str],
                 per_node_kernels: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.cell_arc, self.ops = filters, tuple(int(v) for v in cell_arc), tuple(ops)
        self.num_nodes = len(self.cell_arc) // 4
        self.unused = unused_nodes(self.cell_arc, self.num_nodes)
        self.per_node_kernels = per_node_kernels
        self.calibration = CellInputCalibration(filters, name="calibration")
        self.output_combine = CellOutput(filters, self.num_nodes, per_node_kernels,
                                         name="output")
        # slot_ops[n][slot] = (source index, op name, layer or None)
        self.slot_ops = []
        self.op_layers = []
        for n in range(self.num_nodes):
            slots = []
            for slot in range(2):
                source = self.cell_arc[4 * n + 2 * slot]
                op = self.ops[self.cell_arc[4 * n + 2 * slot + 1]]
                layer = None
                if op.startswith("sep_conv_"):
                    layer = SepConv(filters, int(op[-1]), name=f"node{n + 2}_x{slot + 1}_{op}")
                    self.op_layers.append(layer)
                slots.append((source, op, layer))
            self.slot_ops.append(slots)

    def build(self, input_shape):
        self.calibration.build(input_shape)
        shape = self.calibration.compute_output_shape(input_shape)[1]
        for layer in self.op_layers:
            layer.build(shape)
        self.output_combine.build(shape)

    def call(self, inputs, training=None):
        nodes = self.calibration(inputs, training=training)
        for slots in self.slot_ops:
            outputs = []
            for source, op, layer in slots:
                x = nodes[source]
                if layer is not None:
                    x = layer(x, training=training)
                elif op in ("avg_pool_3x3", "max_pool_3x3"):
                    x = pool(x, op[:3])
                outputs.append(x)
            nodes.append(outputs[0] + outputs[1])
        return self.output_combine(nodes, unused=list(self.unused), training=training)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "cell_arc": list(self.cell_arc), "ops": list(self.ops),
                "per_node_kernels": self.per_node_kernels}


class FixedMicroNetwork(MicroSkeleton):
    """The search-size network of one architecture, with no weight sharing.

    Args:
      search_space: the micro space the architecture belongs to.
      arc: flat architecture (normal then reduce cell); validated here.
      always_batch_stats: True reproduces the supernet's BN behaviour exactly.
      weight_sharing: the supernet layout whose cell output this model mirrors
        (``"compact"``: one output kernel for every node).
      **kwargs: the other arguments, as ``MicroSkeleton``.

    Example:

    ```python
    model = FixedMicroNetwork(MicroSearchSpace(), arc).build_for((32, 32, 3))
    logits, _ = model(images, training=True, return_aux=True)
    ```
    """

    def __init__(self, search_space: MicroSearchSpace, arc: Sequence[int], num_layers: int = 6,
                 filters: int = 20, num_classes: int = 10, keep_prob: float = 0.9,
                 use_aux_head: bool = True, always_batch_stats: bool = False,
                 weight_sharing: str = "official", **kwargs):
        self.search_space = search_space
        self.arc = search_space.validate(arc)
        self.weight_sharing = check_weight_sharing(weight_sharing)
        kwargs.setdefault("name", "micro_fixed")
        super().__init__(num_layers, filters, num_classes, keep_prob=keep_prob,
                         use_aux_head=use_aux_head, always_batch_stats=always_batch_stats,
                         **kwargs)

    def make_cell(self, layer_id, filters, is_reduction):
        normal, reduce = self.search_space.split(self.arc)
        kind = "reduce" if is_reduction else "normal"
        return FixedMicroCell(filters, reduce if is_reduction else normal,
                              self.search_space.ops, self.weight_sharing == "official",
                              name=f"cell{layer_id}_{kind}")

    def call(self, images, training=None, return_aux=False):
        def call_cell(cell, layers, is_reduction, bn):
            return cell(layers, training=bn)

        return self._forward(images, call_cell, training, return_aux)
