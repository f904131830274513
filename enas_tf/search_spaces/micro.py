"""The ENAS micro (cell) search space for CIFAR-10 (Pham et al. 2018, Sec. 2.3).

A cell has two input nodes (0: output of cell k-2, 1: output of cell k-1) and
``num_nodes`` searched nodes. Searched node ``i`` (2 <= i < num_nodes + 2) picks two
inputs among the nodes before it, applies one op to each and adds the results.

The flat architecture is the official ENAS layout: for the normal cell then the
reduction cell, per searched node the four integers ``index_1 op_1 index_2 op_2``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from enas_tf.search_spaces.base import Decision, InvalidArchitectureError, SearchSpace

MICRO_OPS: tuple[str, ...] = (
    "sep_conv_3x3",
    "sep_conv_5x5",
    "avg_pool_3x3",
    "max_pool_3x3",
    "identity",
)
CELL_TYPES: tuple[str, ...] = ("normal", "reduce")

# The published ENAS micro architecture (official `cifar10_micro_final.sh`).
PUBLISHED_ENAS_MICRO_ARC = (
    "0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 "
    "1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1")


class MicroSearchSpace(SearchSpace):
    """Normal + reduction cell, each with ``num_nodes`` searched nodes of 2 inputs.

    Args:
      num_nodes: searched nodes per cell (5 in the official code).
      ops: the op names a node input may take (ENAS's five by default).
      cell_types: the searched cells, in the architecture's order.

    Example:

    ```python
    space = MicroSearchSpace(num_nodes=5)
    arc = space.from_string(PUBLISHED_ENAS_MICRO_ARC)     # 40 integers
    space.draw(arc).savefig("cell.png")
    ```
    """

    name = "micro"

    def __init__(self, num_nodes: int = 5, ops: Sequence[str] = MICRO_OPS,
                 cell_types: Sequence[str] = CELL_TYPES):
        if num_nodes < 1:
            raise ValueError(f"num_nodes must be >= 1, got {num_nodes}.")
        self.num_nodes = int(num_nodes)
        self.ops = tuple(ops)
        self.cell_types = tuple(cell_types)  # the searched cells, in architecture order
        decisions = []
        for cell in self.cell_types:
            for node in range(2, self.num_nodes + 2):
                for slot in (1, 2):
                    decisions.append(Decision(f"{cell}/node{node}/input{slot}", node))
                    decisions.append(Decision(f"{cell}/node{node}/op{slot}", len(self.ops),
                                              labels=self.ops))
        self._decisions = tuple(decisions)

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return self._decisions

    @property
    def cell_length(self) -> int:
        """Integers per cell (``4 * num_nodes``)."""
        return 4 * self.num_nodes

    def split(self, arc: Sequence[int]) -> tuple[tuple[int, ...], ...]:
        """Per searched cell (``cell_types``: normal, reduce), its part of a validated
        architecture."""
        arc = self.validate(arc)
        n = self.cell_length
        return tuple(arc[i * n:(i + 1) * n] for i in range(len(self.cell_types)))

    def to_json(self, arc: Sequence[int]) -> dict[str, Any]:
        arc = self.validate(arc)
        cells = {}
        for cell_index, cell in enumerate(self.cell_types):
            nodes = []
            for n in range(self.num_nodes):
                base = cell_index * self.cell_length + 4 * n
                i1, o1, i2, o2 = arc[base:base + 4]
                nodes.append({"node": n + 2, "inputs": [i1, i2],
                              "ops": [self.ops[o1], self.ops[o2]]})
            cells[cell] = nodes
        return {"search_space": self.name, "num_nodes": self.num_nodes,
                **cells, "enas_string": self.to_string(arc)}

    def from_json(self, data: Mapping[str, Any]) -> tuple[int, ...]:
        self._check_json_header(data, num_nodes=self.num_nodes)
        if all(cell not in data for cell in self.cell_types) and "enas_string" in data:
            return self.from_string(data["enas_string"])
        values: list[int] = []
        for cell in self.cell_types:
            nodes = data.get(cell)
            if not isinstance(nodes, Sequence) or len(nodes) != self.num_nodes:
                raise InvalidArchitectureError(
                    f"'{cell}' must be a list of {self.num_nodes} nodes.")
            for n, node in enumerate(nodes):
                where = f"{cell}/node{n + 2}"
                try:
                    inputs, ops = list(node["inputs"]), list(node["ops"])
                except (KeyError, TypeError):
                    raise InvalidArchitectureError(
                        f"{where}: each node needs 'inputs' and 'ops' lists.") from None
                if len(inputs) != 2 or len(ops) != 2:
                    raise InvalidArchitectureError(f"{where}: needs exactly 2 inputs and 2 ops.")
                for slot in range(2):
                    op = self._op_index(ops[slot], self.ops, f"{where}/op{slot + 1}")
                    values.extend([inputs[slot], op])
        return self._check_string_agrees(data, self.validate(values),
                                         "/".join(f"'{c}'" for c in self.cell_types)
                                         + " node lists")

    def cell_outputs(self, cell_arc: Sequence[int]) -> list[int]:
        """The nodes a cell concatenates into its output: those no node consumes."""
        return unused_nodes(cell_arc, self.num_nodes)

    def draw(self, arc: Sequence[int], title: str = ""):
        """Both cells as graphs: nodes by depth, arrows labelled with their ops."""
        from enas_tf.search_spaces.micro_pictures import draw_micro

        return draw_micro(self, arc, title)

    def describe(self, arc: Sequence[int]) -> str:
        """A one-line-per-cell readable summary, e.g. for logs."""
        data = self.to_json(arc)
        lines = []
        for cell in self.cell_types:
            parts = [f"n{node['node']}=({node['inputs'][0]},{node['ops'][0]})+"
                     f"({node['inputs'][1]},{node['ops'][1]})" for node in data[cell]]
            lines.append(f"{cell}: " + " ".join(parts))
        return "\n".join(lines)


def unused_nodes(cell_arc: Sequence[int], num_nodes: int) -> list[int]:
    """Indices of the nodes (inputs 0/1 included) that no searched node consumes.

    These are concatenated to form the cell output, as in the official code.
    """
    used = set(cell_arc[0::2])
    if len(cell_arc) != 4 * num_nodes:
        raise InvalidArchitectureError(
            f"a cell needs {4 * num_nodes} integers, got {len(cell_arc)}.")
    return [i for i in range(num_nodes + 2) if i not in used]
