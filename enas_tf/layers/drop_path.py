"""Drop-path for the final network, with the official depth and progress schedule.

Each op output of a cell (identity excluded) is zeroed per example with probability
``1 - keep`` and the survivors are divided by ``keep``. ``keep`` falls linearly with the
cell's depth to ``final_keep_prob`` at the last cell, and is phased in linearly over
training: it starts near 1 and reaches the depth value at the end of training.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.layers.ops import PACKAGE


def drop_path_keep_prob(layer_id: int, num_cells: int, final_keep_prob: float, progress):
    """Keep probability of cell ``layer_id`` (0-based, of ``num_cells``) at ``progress``.

    ``progress`` is ``(step + 1) / total_steps`` (clipped to 1), a float or a tensor.
    """
    layer_keep = 1.0 - (layer_id + 1) / num_cells * (1.0 - final_keep_prob)
    return 1.0 - tf.minimum(1.0, progress) * (1.0 - layer_keep)


@keras.saving.register_keras_serializable(PACKAGE)
class DropPath(keras.layers.Layer):
    """Per-example drop-path whose keep probability follows ``drop_path_keep_prob``.

    ``progress`` is a non-trainable weight the training loop sets (``set_progress``), so
    the schedule advances without retracing and is saved with the model.
    """

    def __init__(self, layer_id: int, num_cells: int, final_keep_prob: float, **kwargs):
        super().__init__(**kwargs)
        self.layer_id, self.num_cells = layer_id, num_cells
        self.final_keep_prob = final_keep_prob
        # Keras' seeded generator: its state is checkpointed (``run_dir.model_state``), so
        # a resumed run draws the masks an uninterrupted one would.
        self.seed_generator = keras.random.SeedGenerator()

    def build(self, input_shape):
        self.progress = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                        name="progress")

    @property
    def keep_prob(self) -> tf.Tensor:
        return drop_path_keep_prob(self.layer_id, self.num_cells, self.final_keep_prob,
                                   tf.convert_to_tensor(self.progress))

    def call(self, x, training=None):
        if not training or self.final_keep_prob >= 1.0:
            return x
        keep = tf.cast(self.keep_prob, x.dtype)
        mask = tf.floor(keep + keras.random.uniform([tf.shape(x)[0], 1, 1, 1], dtype=x.dtype,
                                                    seed=self.seed_generator))
        return x / keep * mask

    def get_config(self):
        return {**super().get_config(), "layer_id": self.layer_id, "num_cells": self.num_cells,
                "final_keep_prob": self.final_keep_prob}
