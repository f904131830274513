"""The NAS-Bench-201 network of one cell (AutoDL-Projects ``cell_infers/tiny_network.py``).

Skeleton: 3x3 conv stem to C=16 + BN; 3 stages of ``cells_per_stage`` (N=5) copies of the
cell at C, 2C, 4C channels, a ResNet basic block of stride 2 between stages; BN-ReLU,
global average pooling and a dense classifier. In the cell, node ``i`` sums one op on
the edge from each earlier node (``none`` edges contribute nothing); node 3 is the
output. ``nor_conv_KxK`` is ReLU-conv-BN, ``avg_pool_3x3`` leaves padding out of the
average, ``skip_connect`` is the identity. Trained with the benchmark's recipe in
``flags/cifar_nb201_final.cfg`` (200 epochs, Nesterov SGD 0.1 cosine, weight decay 5e-4,
batch 256).
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

from enas_tf.layers.darts_ops import DartsConv, pad, torch_init, torch_pool
from enas_tf.layers.ops import PACKAGE, batch_norm
from enas_tf.models.progress import NothingRamps
from enas_tf.search_spaces.nb201 import EDGES, NUM_NODES, OPS, NasBench201SearchSpace


@keras.saving.register_keras_serializable(PACKAGE)
class ResNetBlock(keras.layers.Layer):
    """The stage transition: ReLU-3x3 conv (stride 2)-BN, ReLU-3x3 conv-BN, plus a
    shortcut of 2x2 average pooling and a 1x1 conv (``ResNetBasicblock``).
    ``always_batch_stats``: BN uses batch statistics also in inference (search)."""

    def __init__(self, filters: int, always_batch_stats: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.always_batch_stats = filters, always_batch_stats
        self.conv_a = DartsConv(filters, 3, strides=2, padding=1, name="conv_a")
        self.conv_b = DartsConv(filters, 3, padding=1, name="conv_b")
        self.shortcut = keras.layers.Conv2D(filters, 1, use_bias=False,
                                            kernel_initializer=torch_init(), name="shortcut")

    def call(self, x, training=None):
        training = True if self.always_batch_stats else training
        h = self.conv_b(self.conv_a(x, training=training), training=training)
        return h + self.shortcut(tf.nn.avg_pool2d(x, 2, 2, "VALID"))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "always_batch_stats": self.always_batch_stats}


@keras.saving.register_keras_serializable(PACKAGE)
class NasBench201Cell(keras.layers.Layer):
    """One cell of a fixed architecture (``InferCell``); ``arc`` indexes ``OPS`` per edge."""

    def __init__(self, filters: int, arc: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.filters, self.arc = filters, tuple(int(v) for v in arc)
        self.edge_layers = {}
        for k, op in enumerate(self.arc):
            name = OPS[op]
            if name.startswith("nor_conv"):
                size = int(name[-1])
                self.edge_layers[k] = DartsConv(filters, size, padding=size // 2,
                                                name=f"edge{k}_{name}")

    def call(self, x, training=None):
        nodes = [x]
        for node in range(1, NUM_NODES):
            terms = []
            for k, (target, source) in enumerate(EDGES):
                op = OPS[self.arc[k]]
                if target != node or op == "none":
                    continue
                h = nodes[source]
                if op == "avg_pool_3x3":
                    h = torch_pool(h, "avg", 1)
                elif k in self.edge_layers:
                    h = self.edge_layers[k](h, training=training)
                terms.append(h)
            nodes.append(tf.add_n(terms) if terms else tf.zeros_like(x))
        return nodes[-1]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "arc": list(self.arc)}


class NasBench201Skeleton(keras.Model):
    """Stem, three stages of cells with ResNet blocks between them, and the head; the
    cells come from ``make_cell(filters, index)``. Shared by the benchmark network and
    the supernet."""

    def __init__(self, filters: int, cells_per_stage: int, num_classes: int,
                 always_batch_stats: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.cells_per_stage = filters, cells_per_stage
        self.num_classes, self.always_batch_stats = num_classes, always_batch_stats
        self.stem_conv = keras.layers.Conv2D(filters, 3, use_bias=False,
                                             kernel_initializer=torch_init(), name="stem_conv")
        self.stem_bn = batch_norm(name="stem_bn")
        self.stages = []
        for stage in range(3):
            channels = filters * 2 ** stage
            block = ([ResNetBlock(channels, always_batch_stats, name=f"reduce{stage}")]
                     if stage else [])
            cells = [self.make_cell(channels, stage * cells_per_stage + i)
                     for i in range(cells_per_stage)]
            self.stages.append(block + cells)
        self.head_bn = batch_norm(name="head_bn")
        self.classifier = keras.layers.Dense(num_classes, kernel_initializer=torch_init(),
                                             name="classifier")

    def make_cell(self, filters: int, index: int) -> keras.layers.Layer:
        raise NotImplementedError

    def run(self, images, training, cell_fn):
        """The network with every cell applied as ``cell_fn(cell, x)``."""
        norm_training = True if self.always_batch_stats else training
        x = self.stem_bn(self.stem_conv(pad(images, 1)), training=norm_training)
        for layers in self.stages:
            for layer in layers:
                x = (layer(x, training=training) if isinstance(layer, ResNetBlock)
                     else cell_fn(layer, x))
        x = tf.nn.relu(self.head_bn(x, training=norm_training))
        return self.classifier(tf.reduce_mean(x, axis=[1, 2]))


@keras.saving.register_keras_serializable(PACKAGE)
class NasBench201Network(NothingRamps, NasBench201Skeleton):
    """The benchmark's network of one cell, trained from scratch.

    Args:
      arc: the cell as 6 integers (``NasBench201SearchSpace.from_string`` reads the
        benchmark's ``|op~0|+|...|`` string).
      filters: channels of the first stage (16 in the benchmark).
      cells_per_stage: N (5 in the benchmark).

    Example:

    ```python
    arc = NasBench201SearchSpace().from_string(RESNET_CELL)
    model = NasBench201Network(arc).build_for((32, 32, 3))
    ```
    """

    def __init__(self, arc: Sequence[int], filters: int = 16, cells_per_stage: int = 5,
                 num_classes: int = 10, **kwargs):
        self.search_space = NasBench201SearchSpace()
        self.arc = self.search_space.validate(arc)
        kwargs.setdefault("name", "nb201_network")
        super().__init__(filters, cells_per_stage, num_classes, **kwargs)

    def make_cell(self, filters: int, index: int) -> keras.layers.Layer:
        return NasBench201Cell(filters, self.arc, name=f"cell{index}")

    def build_for(self, image_shape: tuple[int, int, int]):
        self(tf.zeros((2, *image_shape)), training=False)
        return self

    def call(self, images, training=None, return_aux=False):
        logits = self.run(images, training, lambda cell, x: cell(x, training=training))
        return (logits, None) if return_aux else logits


    def get_config(self):
        return {"name": self.name, "arc": list(self.arc), "filters": self.filters,
                "cells_per_stage": self.cells_per_stage, "num_classes": self.num_classes}
