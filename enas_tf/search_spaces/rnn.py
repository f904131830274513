"""The ENAS recurrent-cell space (Pham et al. 2018, Sec. 2.2), as the authors' corrected
code builds it (``google-research/enas_lm``).

Node 0 reads ``x_t`` and ``h_{t-1}`` and always applies tanh. Each later node ``l``
(``1 .. num_nodes``) reads one earlier node ``j < l`` and applies one of ``FUNCTIONS``
(enas_lm's order). Every node is a highway unit ``s = prev + sigmoid(t) * (f(h) - prev)``
and the cell's output ``h_t`` is the mean of the searched nodes ``1 .. num_nodes``, as
enas_lm computes it. An architecture is enas_lm's flat encoding: one ``(previous node,
function)`` pair per searched node::

    0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2      # enas_lm's published cell, 8 nodes

The supernet is ``enas_tf.supernet.rnn``, the cell ``enas_tf.layers.rnn_cell``, the
final language model ``enas_tf.models.rnn_lm``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from enas_tf.search_spaces.base import Decision, InvalidArchitectureError, SearchSpace

FUNCTIONS: tuple[str, ...] = ("tanh", "relu", "sigmoid", "identity")
# google-research/enas_lm README: the cell found by its search (8 searched nodes).
ENAS_LM_CELL = "0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2"


class RecurrentCellSearchSpace(SearchSpace):
    """Recurrent cells of ``num_nodes`` searched nodes after the fixed tanh node 0.

    Args:
      num_nodes: searched nodes (enas_lm searches 9; its published cell has 8).

    Example::

        space = RecurrentCellSearchSpace(num_nodes=8)
        arc = space.from_string(ENAS_LM_CELL)
        space.nodes(arc)[:2]     # [(0, 'sigmoid'), (1, 'tanh')]
    """

    name = "rnn"

    def __init__(self, num_nodes: int = 9):
        if num_nodes < 1:
            raise ValueError(f"num_nodes must be >= 1, got {num_nodes}.")
        self.num_nodes = num_nodes
        decisions = []
        for node in range(1, num_nodes + 1):
            decisions.append(Decision(f"node{node}/input", node))
            decisions.append(Decision(f"node{node}/function", len(FUNCTIONS), FUNCTIONS))
        self._decisions = tuple(decisions)

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return self._decisions

    @property
    def functions(self) -> tuple[str, ...]:
        return FUNCTIONS

    def nodes(self, arc: Sequence[int]) -> list[tuple[int, str]]:
        """``(previous node, function name)`` of nodes ``1 .. num_nodes``."""
        arc = self.validate(arc)
        return [(arc[2 * i], FUNCTIONS[arc[2 * i + 1]]) for i in range(self.num_nodes)]

    def to_json(self, arc: Sequence[int]) -> dict[str, Any]:
        arc = self.validate(arc)
        return {"search_space": self.name, "num_nodes": self.num_nodes,
                "enas_string": self.to_string(arc),
                "nodes": [{"node": i + 1, "input": prev, "function": function}
                          for i, (prev, function) in enumerate(self.nodes(arc))]}

    def from_json(self, data: Mapping[str, Any]) -> tuple[int, ...]:
        self._check_json_header(data, num_nodes=self.num_nodes)
        if "nodes" not in data:
            if "enas_string" in data:
                return self.from_string(data["enas_string"])
            raise InvalidArchitectureError("architecture JSON needs 'nodes' or 'enas_string'.")
        nodes = data["nodes"]
        if not isinstance(nodes, list) or len(nodes) != self.num_nodes:
            raise InvalidArchitectureError(
                f"'nodes' must list {self.num_nodes} nodes, got "
                f"{len(nodes) if isinstance(nodes, list) else type(nodes).__name__}.")
        values = []
        for i, node in enumerate(nodes):
            where = f"node {i + 1}"
            if not isinstance(node, Mapping) or "input" not in node or "function" not in node:
                raise InvalidArchitectureError(f"{where}: needs 'input' and 'function'.")
            values += [node["input"], self._op_index(node["function"], FUNCTIONS, where)]
        return self._check_string_agrees(data, self.validate(values), "'nodes'")

    def describe(self, arc: Sequence[int]) -> str:
        """One line per node, and what the output averages."""
        lines = ["s0 = highway(tanh, [x_t, h_{t-1}])"]
        for i, (prev, function) in enumerate(self.nodes(arc)):
            lines.append(f"s{i + 1} = highway({function}, s{prev})")
        lines.append(f"h_t = mean(s1 .. s{self.num_nodes})")
        return "\n".join(lines)

    def draw(self, arc: Sequence[int], title: str = ""):
        from enas_tf.search_spaces.rnn_pictures import draw_cell

        return draw_cell(self, self.validate(arc), title)
