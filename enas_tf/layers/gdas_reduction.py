"""GDAS's fixed, hand-designed reduction cell (GDAS-FRC; AutoDL-Projects
``cell_operations.GDAS_Reduction_Cell``).

The inputs are preprocessed as in a DARTS cell (ReLU-1x1-BN, or a factorized reduction
after a reduction cell) to C channels each. Each input then goes through two branches
at stride 2:

* ReLU -> 1x3 conv (stride 1x2, 8 groups) -> 3x1 conv (stride 2x1, 8 groups) -> BN ->
  ReLU -> 1x1 conv -> BN (the grouped convs through ``grouped_conv2d``, which trains on
  every CPU kernel path; the kernels keep their grouped shapes, so saved models load);
* 3x3 max pool (stride 2, padding 1) -> BN;

and the four results are concatenated (4C channels), with drop-path on each in training.
``always_batch_stats`` makes every BN use batch statistics (the search supernets' rule).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.layers.darts_ops import (DartsConv, DartsDropPath, DartsFactorizedReduce,
                                      torch_init, torch_pool)
from enas_tf.layers.grouped_conv import grouped_conv2d
from enas_tf.layers.ops import PACKAGE, batch_norm

GROUPS = 8


@keras.saving.register_keras_serializable(PACKAGE)
class GdasReductionCell(keras.layers.Layer):
    """The fixed reduction cell; ``call([s0, s1])`` -> ``4 * filters`` channels at half
    the resolution. ``filters`` must be a multiple of 8 (the grouped convolutions).

    Example:

    ```python
    cell = GdasReductionCell(32, reduction_prev=False)
    out = cell([s0, s1], training=True)      # [batch, H/2, W/2, 128]
    ```
    """

    def __init__(self, filters: int, reduction_prev: bool, affine: bool = True,
                 always_batch_stats: bool = False, **kwargs):
        super().__init__(**kwargs)
        if filters % GROUPS:
            raise ValueError(f"GDAS's fixed reduction cell needs channels divisible by "
                             f"{GROUPS} (grouped convolutions), got {filters}.")
        self.filters, self.reduction_prev, self.affine = filters, reduction_prev, affine
        self.always_batch_stats = always_batch_stats
        self.reduction = True
        self.preprocess0 = (DartsFactorizedReduce(filters, affine, name="preprocess0")
                            if reduction_prev else
                            DartsConv(filters, 1, affine=affine, name="preprocess0"))
        self.preprocess1 = DartsConv(filters, 1, affine=affine, name="preprocess1")
        self.pointwise, self.norms = [], []
        for i in range(2):
            self.pointwise.append(keras.layers.Conv2D(filters, 1, use_bias=False,
                                                      kernel_initializer=torch_init(),
                                                      name=f"conv1x1_{i}"))
            self.norms.append([batch_norm(name=f"bn{i}_{k}", affine=affine) for k in range(3)])
        self.drop_path = DartsDropPath(name="drop_path")

    def build(self, input_shape):
        # Grouped kernels: [kh, kw, filters / groups, filters] (see grouped_conv2d).
        shape = (self.filters // GROUPS, self.filters)
        self.wide = [self.add_weight(shape=(1, 3, *shape), initializer=torch_init(),
                                     name=f"conv1x3_{i}") for i in range(2)]
        self.tall = [self.add_weight(shape=(3, 1, *shape), initializer=torch_init(),
                                     name=f"conv3x1_{i}") for i in range(2)]
        self.drop_path.build(None)

    def call(self, inputs, training=None):
        norm_training = True if self.always_batch_stats else training
        states = [self.preprocess0(inputs[0], training=norm_training),
                  self.preprocess1(inputs[1], training=norm_training)]
        convolved, pooled = [], []
        for i, x in enumerate(states):
            bn_a, bn_b, bn_pool = self.norms[i]
            h = grouped_conv2d(pad_axis(tf.nn.relu(x), 2), self.wide[i], [1, 1, 2, 1], GROUPS)
            h = grouped_conv2d(pad_axis(h, 1), self.tall[i], [1, 2, 1, 1], GROUPS)
            h = tf.nn.relu(bn_a(h, training=norm_training))
            convolved.append(bn_b(self.pointwise[i](h), training=norm_training))
            pooled.append(bn_pool(torch_pool(x, "max", 2), training=norm_training))
        outputs = [self.drop_path(h, training=training) for h in convolved + pooled]
        return tf.concat(outputs, axis=-1)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "reduction_prev": self.reduction_prev, "affine": self.affine,
                "always_batch_stats": self.always_batch_stats}


def pad_axis(x: tf.Tensor, axis: int) -> tf.Tensor:
    """Zero padding of 1 on both sides of spatial ``axis`` (1: height, 2: width)."""
    paddings = [[0, 0]] * 4
    paddings[axis] = [1, 1]
    return tf.pad(x, paddings)

