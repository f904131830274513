"""The final ENAS micro network of one architecture, trained from scratch.

It follows the official final network (``_fixed_layer``), which differs from the search
network: every cell also maps input 1 through ReLU -> 1x1 conv -> BN; a reduction cell
strides by 2 on every op fed by its inputs (identity becomes a factorized reduction);
the cell output is the plain concatenation of its unused nodes (factorized-reduced to
the output resolution where needed), so channels grow with the number of unused nodes
and the next cell's 1x1 convs bring them back; ops other than identity get drop-path.
The model is a registered Keras model, so ``keras.models.load_model`` restores it.
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

from enas_tf.layers.cell_io import CellInputCalibration
from enas_tf.layers.drop_path import DropPath
from enas_tf.layers.ops import PACKAGE, FactorizedReduction, ReLUConvBN, SepConv, pool
from enas_tf.models.micro_skeleton import MicroSkeleton
from enas_tf.search_spaces.micro import MICRO_OPS, MicroSearchSpace, unused_nodes


@keras.saving.register_keras_serializable(PACKAGE)
class FinalMicroCell(keras.layers.Layer):
    """One cell of the final network with a constant ``cell_arc`` (4 ints per node).

    Args:
      filters: channels C of every node.
      cell_arc: ``index_1 op_1 index_2 op_2`` per searched node.
      ops: op names indexed by the arc.
      strides: 2 for a reduction cell (applied to ops fed by inputs 0 and 1), else 1.
      layer_id, num_cells, drop_path_keep_prob: the drop-path schedule (see ``DropPath``).
    """

    def __init__(self, filters: int, cell_arc: Sequence[int], ops: Sequence[str] = MICRO_OPS,
                 strides: int = 1, layer_id: int = 0, num_cells: int = 1,
                 drop_path_keep_prob: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides = filters, strides
        self.cell_arc, self.ops = tuple(int(v) for v in cell_arc), tuple(ops)
        self.layer_id, self.num_cells = layer_id, num_cells
        self.drop_path_keep_prob = drop_path_keep_prob
        self.num_nodes = len(self.cell_arc) // 4
        self.unused = unused_nodes(self.cell_arc, self.num_nodes)
        self.calibration = CellInputCalibration(filters, name="calibration")
        self.base = ReLUConvBN(filters, name="base")
        self.drop_path = DropPath(layer_id, num_cells, drop_path_keep_prob, name="drop_path")
        # self.slots[n][slot] = (source, op name, layer or None, stride); the layers are
        # also listed flat in self.op_layers so that Keras tracks their weights.
        self.slots, self.op_layers = [], []
        for n in range(self.num_nodes):
            node_slots = []
            for slot in range(2):
                source = self.cell_arc[4 * n + 2 * slot]
                op = self.ops[self.cell_arc[4 * n + 2 * slot + 1]]
                stride = strides if source < 2 else 1
                name = f"node{n + 2}_x{slot + 1}_{op}"
                layer = None
                if op.startswith("sep_conv_"):
                    layer = SepConv(filters, int(op[-1]), strides=stride, name=name)
                elif op == "identity" and stride > 1:
                    layer = FactorizedReduction(filters, name=name + "_reduce")
                if layer is not None:
                    self.op_layers.append(layer)
                node_slots.append((source, op, layer, stride))
            self.slots.append(node_slots)
        # Unused inputs of a reduction cell are at twice the output resolution.
        self.reduced_outputs = [i for i in self.unused if i < 2 and strides > 1]
        self.output_reductions = [FactorizedReduction(filters, name=f"output_reduce{i}")
                                  for i in self.reduced_outputs]

    def chosen_ops(self) -> list[tuple[int, int, int, str]]:
        """``(node, slot, source, op name)`` of every slot: what this cell computes."""
        return [(n + 2, slot + 1, source, op)
                for n, node_slots in enumerate(self.slots)
                for slot, (source, op, _, _) in enumerate(node_slots)]

    def build(self, input_shape):
        self.calibration.build(input_shape)
        shape = self.calibration.compute_output_shape(input_shape)[1]
        self.base.build(shape)
        self.drop_path.build(shape)
        for layer in self.op_layers + self.output_reductions:
            layer.build(shape)

    def call(self, inputs, training=None):
        x0, x1 = self.calibration(inputs, training=training)
        nodes = [x0, self.base(x1, training=training)]
        for node_slots in self.slots:
            outputs = []
            for source, op, layer, stride in node_slots:
                x = nodes[source]
                if layer is not None:
                    x = layer(x, training=training)
                elif op in ("avg_pool_3x3", "max_pool_3x3"):
                    x = pool(x, op[:3], strides=stride)
                if op != "identity":
                    x = self.drop_path(x, training=training)
                outputs.append(x)
            nodes.append(outputs[0] + outputs[1])
        reductions = dict(zip(self.reduced_outputs, self.output_reductions))
        combined = [reductions[i](nodes[i], training=training) if i in reductions else nodes[i]
                    for i in self.unused]
        return tf.concat(combined, axis=-1)

    def compute_output_shape(self, input_shape):
        height, width = input_shape[1][1], input_shape[1][2]
        if self.strides > 1 and height is not None:
            height, width = -(-height // self.strides), -(-width // self.strides)
        return (input_shape[1][0], height, width, self.filters * len(self.unused))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "cell_arc": list(self.cell_arc),
                "ops": list(self.ops), "strides": self.strides, "layer_id": self.layer_id,
                "num_cells": self.num_cells, "drop_path_keep_prob": self.drop_path_keep_prob}


@keras.saving.register_keras_serializable(PACKAGE)
class FinalMicroNetwork(MicroSkeleton):
    """The official final network of one micro architecture (default: 15 + 2 cells, C=36).

    Args:
      arc: flat architecture (normal then reduce cell), validated against a
        ``MicroSearchSpace(num_nodes)``; build from a string or JSON with
        ``enas_tf.export.load_architecture``.
      num_nodes: searched nodes per cell.
      drop_path_keep_prob: keep probability of the last cell at the end of training.
      **kwargs: the other arguments, as ``MicroSkeleton``.

    Example:

    ```python
    model = FinalMicroNetwork(MicroSearchSpace().from_string(PUBLISHED_ENAS_MICRO_ARC))
    model.build_for((32, 32, 3))
    logits, aux_logits = model(images, training=True, return_aux=True)
    ```
    """

    def __init__(self, arc: Sequence[int], num_nodes: int = 5, num_layers: int = 15,
                 filters: int = 36, num_classes: int = 10, keep_prob: float = 0.8,
                 use_aux_head: bool = True, drop_path_keep_prob: float = 0.6, **kwargs):
        self.search_space = MicroSearchSpace(num_nodes)
        self.arc = self.search_space.validate(arc)
        self.drop_path_keep_prob = drop_path_keep_prob
        kwargs.setdefault("name", "micro_final")
        super().__init__(num_layers, filters, num_classes, keep_prob=keep_prob,
                         use_aux_head=use_aux_head, search_reductions=False, **kwargs)

    def make_cell(self, layer_id, filters, is_reduction):
        normal, reduce = self.search_space.split(self.arc)
        return FinalMicroCell(
            filters, reduce if is_reduction else normal, self.search_space.ops,
            strides=2 if is_reduction else 1, layer_id=layer_id,
            num_cells=self.num_layers + 2, drop_path_keep_prob=self.drop_path_keep_prob,
            name=f"cell{layer_id}_{'reduce' if is_reduction else 'normal'}")

    def call(self, images, training=None, return_aux=False):
        def call_cell(cell, layers, is_reduction, bn):
            return cell(layers, training=bn)

        return self._forward(images, call_cell, training, return_aux)

    def set_training_progress(self, progress: float, epoch_progress: float | None = None) -> None:
        """Sets training progress ``(step + 1) / total_steps`` for every drop-path (the
        official schedule is per step; ``epoch_progress`` is not used)."""
        for cell in self.cells:
            cell.drop_path.progress.assign(min(1.0, float(progress)))

    def progress_stats(self) -> dict[str, float]:
        """What follows training progress, for the epoch logs."""
        return {"drop_path_keep_prob_last_cell": float(self.cells[-1].drop_path.keep_prob)}

    def get_config(self):
        return {"arc": list(self.arc), "num_nodes": self.search_space.num_nodes,
                "num_layers": self.num_layers, "filters": self.filters,
                "num_classes": self.num_classes, "keep_prob": self.keep_prob,
                "use_aux_head": self.use_aux_head,
                "drop_path_keep_prob": self.drop_path_keep_prob, "name": self.name}
