"""Plain Keras networks of one fixed macro architecture: only the chosen ops exist.

``FixedMacroNetwork`` is the search network of one architecture (same layers, skips
summed then BN, no channel doubling), the reference the supernet is timed against.
``FinalMacroNetwork`` is the official final network: skipped tensors and the op's output
concatenated, then ReLU -> 1x1 conv -> BN, channels doubling at each pooling (96 ->
192 -> 384 at the final settings). Both are registered Keras models.
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

from enas_tf.layers.macro_ops import MacroBranch
from enas_tf.layers.ops import PACKAGE, ReLUConvBN, batch_norm
from enas_tf.models.macro_skeleton import MacroSkeleton
from enas_tf.models.progress import NothingRamps
from enas_tf.search_spaces.macro import MacroSearchSpace


@keras.saving.register_keras_serializable(PACKAGE)
class FixedMacroLayer(keras.layers.Layer):
    """One layer of a fixed architecture: its op, then its skips.

    Args:
      op: the layer's op name; filters: output channels.
      skips: indices of the stored tensors it adds (or concatenates).
      final: the final network's layer (op structure and concatenation) instead of the
        search network's (sum then BN).
      sep_as_conv: final only, separable ops as plain convs (as the official final net).
    """

    def __init__(self, op: str, filters: int, layer_id: int, skips: Sequence[int] = (),
                 final: bool = False, sep_as_conv: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.op, self.filters, self.layer_id = op, filters, layer_id
        self.skips, self.final, self.sep_as_conv = tuple(int(j) for j in skips), final, sep_as_conv
        self.branch = MacroBranch(op, filters, final=final, sep_as_conv=sep_as_conv, name=op)
        self.combine = None
        if layer_id > 0:
            self.combine = (ReLUConvBN(filters, 1, name="skip") if final
                            else batch_norm(name="skip_bn"))

    def build(self, input_shape):
        self.branch.build(input_shape)
        out_shape = tuple(input_shape[:-1]) + (self.filters,)
        if self.combine is not None:
            width = (len(self.skips) + 1) * self.filters if self.final else self.filters
            self.combine.build(out_shape[:-1] + (width,))

    def call(self, x, stored, training=None):
        out = self.branch(x, training=training)
        if self.combine is None:
            return out
        skipped = [stored[j] for j in self.skips]
        if self.final:
            return self.combine(tf.concat(skipped + [out], axis=-1), training=training)
        return self.combine(tf.add_n(skipped + [out]), training=training)

    def get_config(self):
        return {**super().get_config(), "op": self.op, "filters": self.filters,
                "layer_id": self.layer_id, "skips": list(self.skips), "final": self.final,
                "sep_as_conv": self.sep_as_conv}


class _FixedMacroBase(MacroSkeleton):
    """A macro network of the constant architecture ``arc`` (validated here)."""

    final = False

    def __init__(self, search_space: MacroSearchSpace, arc: Sequence[int], filters: int,
                 num_classes: int, keep_prob: float, sep_as_conv: bool = False, **kwargs):
        self.arc = search_space.validate(arc)
        self.sep_as_conv = sep_as_conv
        self._layers_of_arc = search_space.layers(self.arc)
        super().__init__(search_space, filters, num_classes, keep_prob=keep_prob,
                         double_channels=self.final, **kwargs)

    def make_layer(self, layer_id, filters):
        op, skips = self._layers_of_arc[layer_id]
        return FixedMacroLayer(self.search_space.ops[op], filters, layer_id, skips,
                               final=self.final, sep_as_conv=self.sep_as_conv,
                               name=f"layer{layer_id}")

    def call(self, images, training=None, return_aux=False):
        stored = [self._stem(images, training)]
        for layer_id, layer in enumerate(self.layer_blocks):
            stored.append(layer(stored[-1], stored, training=training))
            stored = self._maybe_pool(layer_id, stored, training)
        return self._head(stored[-1], training, return_aux)


class FixedMacroNetwork(_FixedMacroBase):
    """The search-size network of one macro architecture, with no weight sharing.

    Example:

    ```python
    model = FixedMacroNetwork(MacroSearchSpace(12), arc, filters=36).build_for((32, 32, 3))
    ```

    Args:
      search_space: the macro space the architecture belongs to.
      arc: the architecture; validated here.
      filters, num_classes, keep_prob: as ``MacroSupernet``.
    """

    def __init__(self, search_space: MacroSearchSpace, arc: Sequence[int], filters: int = 36,
                 num_classes: int = 10, keep_prob: float = 0.9, **kwargs):
        kwargs.setdefault("name", "macro_fixed")
        super().__init__(search_space, arc, filters, num_classes, keep_prob, **kwargs)


@keras.saving.register_keras_serializable(PACKAGE)
class FinalMacroNetwork(NothingRamps, _FixedMacroBase):
    """The official final macro network of ``arc``, trained from scratch.

    Args:
      arc: the flat architecture; ``num_layers`` and ``num_branches`` define its space.
      filters: channels of the first stage (96 official; doubled at each pooling).
      keep_prob: dropout keep probability before the classifier (0.5 official).
      sep_as_conv: build the separable ops as plain convolutions, as the official final
        network did (reproduces the published network's size).

    Example:

    ```python
    arc = MacroSearchSpace(24, 4).from_string(PUBLISHED_ENAS_MACRO_ARC)
    model = FinalMacroNetwork(arc, num_layers=24).build_for((32, 32, 3))
    ```
    """

    final = True

    def __init__(self, arc: Sequence[int], num_layers: int = 24, num_branches: int = 6,
                 filters: int = 96, num_classes: int = 10, keep_prob: float = 0.5,
                 sep_as_conv: bool = False, **kwargs):
        kwargs.setdefault("name", "macro_final")
        self.num_layers, self.num_branches = num_layers, num_branches
        super().__init__(MacroSearchSpace(num_layers, num_branches), arc, filters, num_classes,
                         keep_prob, sep_as_conv=sep_as_conv, **kwargs)


    def get_config(self):
        return {"name": self.name, "arc": list(self.arc), "num_layers": self.num_layers,
                "num_branches": self.num_branches, "filters": self.filters,
                "num_classes": self.num_classes, "keep_prob": self.keep_prob,
                "sep_as_conv": self.sep_as_conv}
