"""The DARTS final network of one genotype (quark0/darts ``cnn/model.py``, ``NetworkCIFAR``).

Stem 3x3 conv to 3C + BN; ``num_cells`` cells (20 in the paper) with reductions at
``num_cells // 3`` and ``2 * num_cells // 3``; each cell preprocesses its inputs
(ReLU-1x1-BN, or a factorized reduction after a reduction cell), runs the genotype's two
ops per node (stride 2 on the cell inputs of a reduction cell, where ``skip_connect``
becomes a factorized reduction), applies drop-path to every op but the identity during
training, and concatenates its 4 intermediate nodes. With ``fixed_reduction`` the
reduction cells are GDAS's fixed one (GDAS-FRC). An auxiliary head follows the second
reduction cell; global average pooling and a dense classifier end the network.
Drop-path's rate ramps linearly with the epoch to ``drop_path_prob`` (``set_training_progress``).

``imagenet=True`` builds ``NetworkImageNet`` (ImageNet in the mobile setting): two
stride-2 stems (3x3 conv to C/2, BN, ReLU, 3x3 conv to C, BN; then ReLU, 3x3 conv, BN)
take 224x224 images to 28x28, the first cell reads a stem of twice its resolution
(a factorized reduction), and the auxiliary head is ImageNet's (for 7x7 maps, no
batch norm after its 2x2 conv, as the published experiments ran).
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

from enas_tf.layers.darts_ops import (DartsConv, DartsDropPath, DartsFactorizedReduce,
                                      make_primitive, pad, torch_init)
from enas_tf.layers.gdas_reduction import GdasReductionCell
from enas_tf.layers.ops import PACKAGE, batch_norm
from enas_tf.search_spaces.darts import NUM_NODES, DartsSearchSpace, reduction_cells


@keras.saving.register_keras_serializable(PACKAGE)
class DartsCell(keras.layers.Layer):
    """One cell of a genotype: ``cell_arc`` is ``input_1 op_1 input_2 op_2`` per node, the
    ops indexing ``ops``."""

    def __init__(self, filters: int, cell_arc: Sequence[int], ops: Sequence[str],
                 reduction: bool, reduction_prev: bool, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.cell_arc, self.ops = filters, tuple(int(v) for v in cell_arc), tuple(ops)
        self.reduction, self.reduction_prev = reduction, reduction_prev
        self.preprocess0 = (DartsFactorizedReduce(filters, name="preprocess0") if reduction_prev
                            else DartsConv(filters, 1, name="preprocess0"))
        self.preprocess1 = DartsConv(filters, 1, name="preprocess1")
        self.drop_path = DartsDropPath(name="drop_path")
        # slots[k] = (source, layer or None for the identity)
        self.slots, self.op_layers = [], []
        for k in range(2 * NUM_NODES):
            source, op = self.cell_arc[2 * k], self.ops[self.cell_arc[2 * k + 1]]
            strides = 2 if reduction and source < 2 else 1
            layer = make_primitive(op, filters, strides, affine=True)
            if layer is not None:
                self.op_layers.append(layer)
            self.slots.append((source, layer))

    def build(self, input_shape):
        self.drop_path.build(None)

    def call(self, inputs, training=None):
        states = [self.preprocess0(inputs[0], training=training),
                  self.preprocess1(inputs[1], training=training)]
        for node in range(NUM_NODES):
            total = None
            for source, layer in self.slots[2 * node:2 * node + 2]:
                h = states[source]
                if layer is not None:
                    h = self.drop_path(layer(h, training=training), training=training)
                total = h if total is None else total + h
            states.append(total)
        return tf.concat(states[2:], axis=-1)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "cell_arc": list(self.cell_arc),
                "ops": list(self.ops), "reduction": self.reduction,
                "reduction_prev": self.reduction_prev}


@keras.saving.register_keras_serializable(PACKAGE)
class DartsAuxHead(keras.layers.Layer):
    """``AuxiliaryHeadCIFAR``: ReLU, 5x5 average pool (stride 3), 1x1 conv 128, BN, ReLU,
    2x2 conv 768, BN, ReLU, dense (input 8x8). ``imagenet``: ``AuxiliaryHeadImageNet``,
    the pool of stride 2 (input 7x7) and no BN after the 2x2 conv, as the published runs
    had it."""

    def __init__(self, num_classes: int, imagenet: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.imagenet = num_classes, imagenet
        self.conv1 = keras.layers.Conv2D(128, 1, use_bias=False, kernel_initializer=torch_init())
        self.conv2 = keras.layers.Conv2D(768, 2, use_bias=False, kernel_initializer=torch_init())
        self.bn1, self.bn2 = batch_norm(), None if imagenet else batch_norm()
        self.classifier = keras.layers.Dense(num_classes, kernel_initializer=torch_init())

    def call(self, x, training=None):
        x = tf.nn.avg_pool2d(tf.nn.relu(x), 5, 2 if self.imagenet else 3, "VALID")
        x = tf.nn.relu(self.bn1(self.conv1(x), training=training))
        x = self.conv2(x)
        x = tf.nn.relu(x if self.bn2 is None else self.bn2(x, training=training))
        return self.classifier(tf.reshape(x, [tf.shape(x)[0], -1]))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "imagenet": self.imagenet}


def _stem_conv(filters: int, name: str) -> keras.layers.Conv2D:
    return keras.layers.Conv2D(filters, 3, strides=2, padding="valid", use_bias=False,
                               kernel_initializer=torch_init(), name=name)


@keras.saving.register_keras_serializable(PACKAGE)
class DartsImageNetStem(keras.layers.Layer):
    """``NetworkImageNet``'s ``stem0`` and ``stem1``: ``call(images)`` -> ``(s0, s1)`` at
    1/4 and 1/8 of the image's sides, both with ``filters`` channels."""

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.conv0a, self.bn0a = _stem_conv(filters // 2, "conv0a"), batch_norm(name="bn0a")
        self.conv0b, self.bn0b = _stem_conv(filters, "conv0b"), batch_norm(name="bn0b")
        self.conv1, self.bn1 = _stem_conv(filters, "conv1"), batch_norm(name="bn1")

    def call(self, images, training=None):
        x = tf.nn.relu(self.bn0a(self.conv0a(pad(images, 1)), training=training))
        s0 = self.bn0b(self.conv0b(pad(x, 1)), training=training)
        s1 = self.bn1(self.conv1(pad(tf.nn.relu(s0), 1)), training=training)
        return s0, s1

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(PACKAGE)
class FinalDartsNetwork(keras.Model):
    """The final network of a DARTS genotype (default: the paper's 20 cells, C=36).

    Args:
      arc: the genotype as 32 integers (``DartsSearchSpace.from_string`` reads DARTS's
        notation and the names ``DARTS_V1``, ``DARTS_V2``, ``GDAS_V1``).
      num_cells, filters: network size (20 and 36 in the paper).
      use_aux_head: the auxiliary classifier after the second reduction cell.
      drop_path_prob: drop-path rate at the end of training (0.2 in the paper).
      fixed_reduction: the reduction cells are GDAS's fixed one and ``arc`` is only the
        normal cell (16 integers; a ``darts_frc`` genotype).
      imagenet: ``NetworkImageNet`` (the mobile setting: 14 cells, C=48, 224x224 images)
        instead of ``NetworkCIFAR``.

    Example:

    ```python
    arc = DartsSearchSpace().from_string("DARTS_V2")
    model = FinalDartsNetwork(arc).build_for((32, 32, 3))
    mobile = FinalDartsNetwork(arc, num_cells=14, filters=48, num_classes=1000,
                               imagenet=True).build_for((224, 224, 3))
    ```
    """

    def __init__(self, arc: Sequence[int], num_cells: int = 20, filters: int = 36,
                 num_classes: int = 10, use_aux_head: bool = True, drop_path_prob: float = 0.2,
                 stem_multiplier: int = 3, fixed_reduction: bool = False,
                 imagenet: bool = False, **kwargs):
        kwargs.setdefault("name", "darts_final")
        super().__init__(**kwargs)
        self.fixed_reduction, self.imagenet = fixed_reduction, imagenet
        self.search_space = DartsSearchSpace(fixed_reduction)
        self.arc = self.search_space.validate(arc)
        self.num_cells, self.filters, self.num_classes = num_cells, filters, num_classes
        self.use_aux_head, self.drop_path_prob = use_aux_head, drop_path_prob
        self.stem_multiplier = stem_multiplier
        if imagenet:
            self.stem = DartsImageNetStem(filters, name="stem")
        else:
            self.stem_conv = keras.layers.Conv2D(stem_multiplier * filters, 3, padding="valid",
                                                 use_bias=False, kernel_initializer=torch_init(),
                                                 name="stem_conv")
            self.stem_bn = batch_norm(name="stem_bn")
        normal, *reduce = self.search_space.split(self.arc)
        # ImageNet's first cell reads stem0 at twice stem1's resolution.
        self.cells, channels, reduction_prev = [], filters, imagenet
        self.aux_head_id = reduction_cells(num_cells)[1]
        for i in range(num_cells):
            reduction = i in reduction_cells(num_cells)
            channels *= 2 if reduction else 1
            if reduction and fixed_reduction:
                cell = GdasReductionCell(channels, reduction_prev, name=f"cell{i}_fixed_reduce")
            else:
                cell = DartsCell(channels, reduce[0] if reduction else normal,
                                 self.search_space.ops, reduction, reduction_prev,
                                 name=f"cell{i}_{'reduce' if reduction else 'normal'}")
            self.cells.append(cell)
            reduction_prev = reduction
        self.aux_head = (DartsAuxHead(num_classes, imagenet, name="aux_head") if use_aux_head
                         else None)
        self.classifier = keras.layers.Dense(num_classes, kernel_initializer=torch_init(),
                                             name="classifier")

    def build_for(self, image_shape: tuple[int, int, int]):
        self(tf.zeros((2, *image_shape)), training=False, return_aux=True)
        return self

    def call(self, images, training=None, return_aux=False):
        if self.imagenet:
            s0, s1 = self.stem(images, training=training)
        else:
            s0 = s1 = self.stem_bn(self.stem_conv(pad(images, 1)), training=training)
        aux_logits = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell([s0, s1], training=training)
            if return_aux and self.aux_head is not None and i == self.aux_head_id:
                aux_logits = self.aux_head(s1, training=training)
        logits = self.classifier(tf.reduce_mean(s1, axis=[1, 2]))
        return (logits, aux_logits) if return_aux else logits

    def set_training_progress(self, progress: float, epoch_progress: float | None = None) -> None:
        """Drop-path rate ``drop_path_prob * epoch / epochs``, set per epoch as DARTS does
        (``epoch_progress``); ``progress`` (per step) is not used."""
        rate = self.drop_path_prob * (progress if epoch_progress is None else epoch_progress)
        for cell in self.cells:
            cell.drop_path.rate.assign(rate)

    def progress_stats(self) -> dict[str, float]:
        return {"drop_path_rate": float(self.cells[0].drop_path.rate)}

    def get_config(self):
        return {"name": self.name, "arc": list(self.arc), "num_cells": self.num_cells,
                "filters": self.filters, "num_classes": self.num_classes,
                "use_aux_head": self.use_aux_head, "drop_path_prob": self.drop_path_prob,
                "stem_multiplier": self.stem_multiplier, "fixed_reduction": self.fixed_reduction,
                "imagenet": self.imagenet}
