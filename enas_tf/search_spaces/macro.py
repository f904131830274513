"""The ENAS macro search space: a whole network, one op and a set of skips per layer
(Pham et al. 2018, Sec. 2.3 "designing convolutional networks").

Layer ``i`` picks one of the six official ops and, for every ``j < i``, a skip bit:
``s_j = 1`` adds the input of layer ``j`` (the stem's output for ``j = 0``) to the
layer's output. Layer ``i``'s own input is layer ``i - 1``'s output, so the skips reach
every earlier tensor but that one, as the official child (``general_child.py``) wires
them.

The flat architecture is the official layout: layer ``i`` contributes
``[op, s_0, ..., s_{i-1}]``, so ``L`` layers take ``L + L(L-1)/2`` integers.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from enas_tf.search_spaces.base import Decision, InvalidArchitectureError, SearchSpace

MACRO_OPS: tuple[str, ...] = (
    "conv_3x3",
    "sep_conv_3x3",
    "conv_5x5",
    "sep_conv_5x5",
    "avg_pool_3x3",
    "max_pool_3x3",
)

# The published 24-layer macro architecture (official `cifar10_macro_final.sh`), one
# row per layer: [op, skips to the inputs of layers 0 .. i-1].
PUBLISHED_ENAS_MACRO_ARC = """
0
3 0
0 1 0
2 0 0 1
2 0 0 0 0
3 1 1 0 1 0
2 0 0 0 0 0 1
2 0 1 1 0 1 1 1
1 0 1 1 1 0 1 0 1
0 0 0 0 0 0 0 0 0 0
2 0 0 0 0 0 1 0 0 0 0
0 1 0 0 1 1 0 0 0 0 1 1
2 0 1 0 0 0 0 0 1 0 1 1 0
1 0 0 1 0 0 0 1 1 1 0 1 0 1
0 1 1 0 1 0 1 0 0 0 0 0 1 0 0
2 0 0 1 0 0 0 0 0 0 0 1 0 1 0 1
2 0 1 0 0 0 1 0 0 1 1 1 1 0 0 1 0
2 0 0 0 0 1 0 1 0 1 0 0 1 0 1 0 0 1
3 0 1 1 0 1 0 0 0 0 0 1 0 1 0 1 0 0 0
3 0 1 1 0 0 0 0 0 0 0 0 0 1 1 0 0 0 0 1
0 1 0 0 1 0 1 1 0 0 0 1 0 0 0 0 0 1 1 0 0
3 0 1 0 1 1 0 0 1 0 1 1 0 1 1 0 1 0 0 1 0 0
0 1 0 1 0 1 0 0 0 0 0 0 0 0 1 0 1 0 0 1 0 0 0
0 1 1 0 0 0 1 1 1 0 1 0 0 0 1 0 1 0 0 1 1 0 0 0
"""


def layer_start(layer: int) -> int:
    """Position of layer ``layer``'s op in the flat architecture."""
    return layer + layer * (layer - 1) // 2


def pool_layer_ids(num_layers: int) -> tuple[int, ...]:
    """The layers after which every stored tensor is halved in resolution (official
    ``pool_layers = [L//3 - 1, 2 * (L//3) - 1]``; none for fewer than 3 layers)."""
    distance = num_layers // 3
    return () if distance == 0 else (distance - 1, 2 * distance - 1)


class MacroSearchSpace(SearchSpace):
    """``num_layers`` layers, each an op out of ``num_branches`` plus a skip bit per
    earlier layer.

    Args:
      num_layers: layers of the network (12 in the official search, 24 in the final
        network).
      num_branches: the first ``num_branches`` of ``MACRO_OPS`` are allowed (6 in the
        official search; the official final script uses 4, convolutions only).

    Example:

    ```python
    space = MacroSearchSpace(num_layers=12)
    arc = space.from_string(text)        # the official flat integers
    print(space.describe(arc))
    ```
    """

    name = "macro"

    def __init__(self, num_layers: int = 12, num_branches: int = 6):
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}.")
        if not 1 <= num_branches <= len(MACRO_OPS):
            raise ValueError(f"num_branches must be in [1, {len(MACRO_OPS)}], "
                             f"got {num_branches}.")
        self.num_layers, self.num_branches = int(num_layers), int(num_branches)
        self.ops = MACRO_OPS[:num_branches]
        decisions = []
        for layer in range(self.num_layers):
            decisions.append(Decision(f"layer{layer}/op", self.num_branches, labels=self.ops))
            decisions += [Decision(f"layer{layer}/skip{j}", 2) for j in range(layer)]
        self._decisions = tuple(decisions)

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return self._decisions

    @property
    def num_skips(self) -> int:
        """Skip decisions in all: ``L(L-1)/2``."""
        return self.num_layers * (self.num_layers - 1) // 2

    def layers(self, arc: Sequence[int]) -> list[tuple[int, tuple[int, ...]]]:
        """``(op, skipped layer indices)`` per layer of a validated architecture."""
        arc = self.validate(arc)
        result = []
        for layer in range(self.num_layers):
            start = layer_start(layer)
            bits = arc[start + 1:start + 1 + layer]
            result.append((arc[start], tuple(j for j, bit in enumerate(bits) if bit)))
        return result

    def skip_rate(self, arc: Sequence[int]) -> float:
        """The share of skip bits set (the official controller's logged skip rate)."""
        return sum(len(skips) for _, skips in self.layers(arc)) / max(1, self.num_skips)

    def to_json(self, arc: Sequence[int]) -> dict[str, Any]:
        layers = [{"layer": i, "op": self.ops[op], "skips": list(skips)}
                  for i, (op, skips) in enumerate(self.layers(arc))]
        return {"search_space": self.name, "num_layers": self.num_layers,
                "num_branches": self.num_branches, "layers": layers,
                "enas_string": self.to_string(arc)}

    def from_json(self, data: Mapping[str, Any]) -> tuple[int, ...]:
        self._check_json_header(data, num_layers=self.num_layers)
        if "layers" not in data and "enas_string" in data:
            return self.from_string(data["enas_string"])
        layers = data.get("layers")
        if not isinstance(layers, Sequence) or len(layers) != self.num_layers:
            raise InvalidArchitectureError(f"'layers' must be a list of {self.num_layers} "
                                           "layers.")
        values: list[int] = []
        for i, layer in enumerate(layers):
            try:
                op, skips = layer["op"], list(layer["skips"])
            except (KeyError, TypeError):
                raise InvalidArchitectureError(
                    f"layer{i}: each layer needs an 'op' and a 'skips' list.") from None
            op = self._op_index(op, self.ops, f"layer{i}/op")
            bad = [j for j in skips if not isinstance(j, int) or not 0 <= j < i]
            if bad:
                raise InvalidArchitectureError(
                    f"layer{i}/skips: {bad[0]!r} is not an earlier layer (0 .. {i - 1}).")
            values += [op] + [int(j in skips) for j in range(i)]
        return self._check_string_agrees(data, self.validate(values), "'layers' list")

    def describe(self, arc: Sequence[int]) -> str:
        """One line per layer, e.g. ``layer 3: conv_5x5 + skips from 0, 2``."""
        lines = []
        for i, (op, skips) in enumerate(self.layers(arc)):
            extra = f" + skips from {', '.join(map(str, skips))}" if skips else ""
            lines.append(f"layer {i}: {self.ops[op]}{extra}")
        return "\n".join(lines)

    def to_rows(self, arc: Sequence[int]) -> str:
        """The official printout: one row of integers per layer."""
        arc = self.validate(arc)
        return "\n".join(" ".join(str(v) for v in arc[layer_start(i):layer_start(i + 1)])
                         for i in range(self.num_layers))

    def layer_start(self, layer: int) -> int:
        """Index of layer ``layer``'s first decision (its op) in an architecture."""
        return layer_start(layer)

    def pool_layers(self) -> tuple[int, ...]:
        """The layers after which the network halves its resolution."""
        return pool_layer_ids(self.num_layers)

    def draw(self, arc: Sequence[int], title: str = ""):
        """The network as a chain of op boxes with its skip connections as arcs."""
        from enas_tf.search_spaces.macro_pictures import draw_macro

        return draw_macro(self, arc, title)

    def draw_probabilities(self, probabilities, title: str = ""):
        """Op probabilities per layer and skip probabilities per (layer, earlier layer)."""
        from enas_tf.search_spaces.macro_pictures import draw_macro_probabilities

        return draw_macro_probabilities(self, probabilities, title)
