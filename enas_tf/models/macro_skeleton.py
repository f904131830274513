"""The network around the layers of an ENAS macro architecture, shared by the supernet,
the search-size fixed model and the final network.

Stem (3x3 conv to C, BN), ``num_layers`` layers, and after each official pool layer
every stored tensor (the stem's output included) goes through its own factorized
reduction; then global average pooling (no ReLU before it, as official), dropout and a
bias-free dense. Channels stay C throughout the search network and double at each
pooling in the final network. Subclasses make the layers and run them (``call``).
"""

from __future__ import annotations

import abc

import keras
import tensorflow as tf

from enas_tf.layers.ops import FactorizedReduction, batch_norm, conv
from enas_tf.models.settings import check_network_args
from enas_tf.search_spaces.macro import MacroSearchSpace, pool_layer_ids


class MacroSkeleton(keras.Model, abc.ABC):
    """Base class: builds stem, layers, the reductions at the pool layers and the head.

    Args:
      search_space: the macro space (layers, branches).
      filters: channels C of the stem and the first stage.
      num_classes: classifier width.
      keep_prob: dropout keep probability before the classifier.
      double_channels: channels double at each pooling (the final network).
    """

    def __init__(self, search_space: MacroSearchSpace, filters: int, num_classes: int,
                 keep_prob: float = 0.9, double_channels: bool = False, **kwargs):
        super().__init__(**kwargs)
        check_network_args(filters, keep_prob)
        self.search_space, self.filters, self.num_classes = search_space, filters, num_classes
        self.keep_prob, self.double_channels = keep_prob, double_channels
        self.pool_ids = pool_layer_ids(search_space.num_layers)
        self.stem_conv, self.stem_bn = conv(filters, 3, name="stem_conv"), batch_norm(name="stem_bn")
        self.layer_blocks, self.reductions, self._reduction_start = [], [], {}
        channels = filters
        for layer_id in range(search_space.num_layers):
            self.layer_blocks.append(self.make_layer(layer_id, channels))
            if layer_id in self.pool_ids:
                channels *= 2 if double_channels else 1
                self._reduction_start[layer_id] = len(self.reductions)
                self.reductions += [FactorizedReduction(channels, name=f"pool_at_{layer_id}_from_{i}")
                                    for i in range(layer_id + 2)]  # the stem and layers 0..id
        self.dropout = keras.layers.Dropout(1.0 - keep_prob)
        self.classifier = keras.layers.Dense(num_classes, use_bias=False,
                                             kernel_initializer="he_normal", name="classifier")

    @abc.abstractmethod
    def make_layer(self, layer_id: int, filters: int) -> keras.layers.Layer:
        """Creates layer ``layer_id`` with ``filters`` output channels."""

    def build_for(self, image_shape: tuple[int, int, int]):
        """Creates every weight by one call on a dummy batch; returns self."""
        self(tf.zeros((2, *image_shape)), training=False, **self._build_kwargs())
        return self

    def _build_kwargs(self) -> dict:
        return {}

    def _stem(self, images, training):
        return self.stem_bn(self.stem_conv(images), training=training)

    def _maybe_pool(self, layer_id: int, stored: list, training) -> list:
        """After a pool layer, every stored tensor through its own factorized reduction."""
        if layer_id not in self.pool_ids:
            return stored
        start = self._reduction_start[layer_id]
        return [reduce(x, training=training)
                for reduce, x in zip(self.reductions[start:start + len(stored)], stored)]

    def _head(self, x, training, return_aux: bool):
        logits = self.classifier(self.dropout(tf.reduce_mean(x, axis=[1, 2]), training=training))
        return (logits, None) if return_aux else logits  # no auxiliary head in macro nets
