"""The network skeleton around micro cells, shared by the supernet and fixed models.

Stem (3x3 conv to 3C, BN), ``num_layers + 2`` cells with reduction cells at the official
positions (channels double there), an auxiliary head after the first cell that follows
the last reduction, then ReLU, global average pooling, dropout and a bias-free dense.
Subclasses say how a cell is made and called.
"""

from __future__ import annotations

import abc
from typing import Callable

import keras
import tensorflow as tf

from enas_tf.layers.ops import AuxHead, FactorizedReduction, batch_norm, conv
from enas_tf.models.settings import check_network_args

# Weight layouts: the official one, or one weight set per op shared by every source node
# and one cell-output kernel for every node (``--weight_sharing``).
WEIGHT_SHARING = ("official", "compact")


def check_weight_sharing(weight_sharing: str) -> str:
    if weight_sharing not in WEIGHT_SHARING:
        raise ValueError(f"weight_sharing must be one of {', '.join(WEIGHT_SHARING)}, "
                         f"got {weight_sharing!r}.")
    return weight_sharing


def reduction_layer_ids(num_layers: int) -> tuple[int, int]:
    """Positions of the two reduction cells among the ``num_layers + 2`` cells."""
    if num_layers < 1:
        raise ValueError(f"num_layers must be >= 1, got {num_layers}.")
    return num_layers // 3, 2 * (num_layers // 3) + 1


class MicroSkeleton(keras.Model, abc.ABC):
    """Base class: builds stem, cells, heads; ``_forward`` threads the two cell inputs.

    Args:
      num_layers: the official ``child_num_layers``; the network has ``num_layers + 2`` cells.
      filters: channels C of the first stage (the stem has 3C).
      num_classes: classifier width.
      keep_prob: dropout keep probability before the classifier.
      use_aux_head: whether to build the auxiliary classifier.
      always_batch_stats: use batch statistics in every BN, even when ``training`` is
        False (the official micro search does this).
      search_reductions: True (search): a factorized reduction precedes each reduction
        cell, which then runs at stride 1 on inputs both derived from the previous cell.
        False (final network): the reduction cell itself strides, on inputs k-2 and k-1.
    """

    def __init__(self, num_layers: int, filters: int, num_classes: int, keep_prob: float = 0.9,
                 use_aux_head: bool = True, always_batch_stats: bool = False,
                 search_reductions: bool = True, **kwargs):
        super().__init__(**kwargs)
        check_network_args(filters, keep_prob)
        self.num_layers, self.filters, self.num_classes = num_layers, filters, num_classes
        self.keep_prob, self.use_aux_head = keep_prob, use_aux_head
        self.always_batch_stats = always_batch_stats
        self.search_reductions = search_reductions
        self.reduction_ids = reduction_layer_ids(num_layers)
        self.aux_head_id = self.reduction_ids[-1] + 1

        self.stem_conv = conv(3 * filters, 3, name="stem_conv")
        self.stem_bn = batch_norm(name="stem_bn")
        self.cells, self.reductions = [], []
        cell_filters = filters
        for layer_id in range(num_layers + 2):
            is_reduction = layer_id in self.reduction_ids
            if is_reduction:
                cell_filters *= 2
            if is_reduction and search_reductions:
                self.reductions.append(
                    FactorizedReduction(cell_filters, name=f"reduction{layer_id}"))
            self.cells.append(self.make_cell(layer_id, cell_filters, is_reduction))
        self.aux_head = AuxHead(num_classes, name="aux_head") if use_aux_head else None
        self.dropout = keras.layers.Dropout(1.0 - keep_prob)
        self.classifier = keras.layers.Dense(num_classes, use_bias=False,
                                             kernel_initializer="he_normal", name="classifier")

    @abc.abstractmethod
    def make_cell(self, layer_id: int, filters: int, is_reduction: bool) -> keras.layers.Layer:
        """Creates the cell at position ``layer_id`` with ``filters`` output channels."""

    def build_for(self, image_shape: tuple[int, int, int]):
        """Creates every weight by one call on a dummy batch; returns self."""
        self(tf.zeros((2, *image_shape)), training=False, return_aux=True,
             **self._build_kwargs())
        return self

    def _build_kwargs(self) -> dict:
        """Extra call arguments for ``build_for`` (the supernet needs an architecture)."""
        return {}

    def _forward(self, images: tf.Tensor, call_cell: Callable, training, return_aux: bool):
        """Runs the skeleton; ``call_cell(cell, [x_prev_prev, x_prev], is_reduction, bn)``."""
        bn = True if self.always_batch_stats else training
        x = self.stem_bn(self.stem_conv(images), training=bn)
        layers = [x, x]
        aux_logits = None
        reductions = iter(self.reductions)
        for layer_id, cell in enumerate(self.cells):
            is_reduction = layer_id in self.reduction_ids
            if is_reduction and self.search_reductions:
                # Search-style reduction: both cell inputs derive from the previous cell.
                layers = [layers[-1], next(reductions)(layers[-1], training=bn)]
            out = call_cell(cell, layers, is_reduction, bn)
            layers = [layers[-1], out]
            if return_aux and self.aux_head is not None and layer_id == self.aux_head_id:
                aux_logits = self.aux_head(out, training=bn)
        x = tf.reduce_mean(tf.nn.relu(layers[-1]), axis=[1, 2])
        logits = self.classifier(self.dropout(x, training=training))
        if return_aux:
            return logits, aux_logits
        return logits
