"""The NAS-Bench-201 cell space (Dong & Yang, ICLR 2020; D-X-Y/AutoDL-Projects).

A cell is a DAG of 4 nodes: node 0 is the cell input, node 3 its output, and every
node ``i`` sums one op on each edge from every earlier node ``j`` (6 edges). Each edge
holds one of 5 ops, so the space has 5**6 = 15,625 cells. As an architecture of this
library a cell is 6 integers, the edges in the benchmark string's order
(1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2), each indexing ``OPS``. The benchmark's own
architecture string reads and writes:

```
|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|
```

so a cell can be looked up in the benchmark's tables as it is.

The supernet is ``enas_tf.supernet.nb201``, the benchmark's network of one cell
``enas_tf.models.nb201_network``, results look-up ``enas_tf.lookup``.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Iterator, Mapping, Sequence

from enas_tf.search_spaces.base import Decision, InvalidArchitectureError, SearchSpace

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_NODES = 4
# (node, source) per decision, in the architecture string's order.
EDGES: tuple[tuple[int, int], ...] = tuple(
    (node, source) for node in range(1, NUM_NODES) for source in range(node))
# The ResNet-like cell (93.97% on CIFAR-10 in the benchmark).
RESNET_CELL = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


class NasBench201SearchSpace(SearchSpace):
    """Cells of NAS-Bench-201: one of ``OPS`` on each of the 6 edges.

    Example:

    ```python
    space = NasBench201SearchSpace()
    arc = space.from_string(RESNET_CELL)     # (3, 0, 3, 1, 0, 1)
    space.to_arch_str(arc) == RESNET_CELL
    len(list(space.all_architectures()))      # 15625
    ```
    """

    name = "nb201"
    edges = EDGES  # (node, source) of each decision, in the benchmark string's order
    num_nodes = NUM_NODES

    def __init__(self):
        self._decisions = tuple(Decision(f"node{node}/from{source}", len(OPS), OPS)
                                for node, source in EDGES)

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return self._decisions

    @property
    def ops(self) -> tuple[str, ...]:
        return OPS

    def all_architectures(self) -> Iterator[tuple[int, ...]]:
        """Every cell of the space (15,625), in lexicographic order of the integers."""
        return itertools.product(range(len(OPS)), repeat=len(EDGES))

    # --- the benchmark's architecture string ----------------------------------------

    def to_arch_str(self, arc: Sequence[int]) -> str:
        """``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, as the benchmark writes cells."""
        arc = self.validate(arc)
        groups = []
        for node in range(1, NUM_NODES):
            edges = [f"{OPS[arc[k]]}~{source}" for k, (n, source) in enumerate(EDGES)
                     if n == node]
            groups.append("|" + "|".join(edges) + "|")
        return "+".join(groups)

    def notation(self, arc: Sequence[int]) -> str:
        return self.to_arch_str(arc)

    def derive(self, alpha) -> tuple[int, ...]:
        """The strongest op on every edge (``none`` included), as DARTS and GDAS derive
        NAS-Bench-201 cells. ``alpha``: ``[6, 5]`` architecture weights."""
        import numpy as np

        alpha = np.asarray(alpha)
        if alpha.shape != (len(EDGES), len(OPS)):
            raise ValueError(f"architecture weights must be [{len(EDGES)}, {len(OPS)}], got "
                             f"{list(alpha.shape)}.")
        return self.validate([int(i) for i in alpha.argmax(axis=1)])

    def weight_labels(self) -> tuple[list[str], tuple[str, ...]]:
        """Row (edge) and column (op) names of the architecture-weight tensor."""
        return [f"{node} <- {source}" for node, source in EDGES], OPS

    @property
    def weight_shapes(self) -> dict[str, tuple[int, int]]:
        """Architecture-weight tensors: one ``[6 edges, 5 ops]`` for the one cell."""
        return {"cell": (len(EDGES), len(OPS))}

    def from_arch_str(self, text: str) -> tuple[int, ...]:
        """Inverse of ``to_arch_str``; a malformed string is refused naming the node or
        edge and the reason."""
        groups = text.strip().split("+")
        if len(groups) != NUM_NODES - 1:
            raise InvalidArchitectureError(
                f"architecture string needs {NUM_NODES - 1} node groups joined by '+', got "
                f"{len(groups)}.")
        values = []
        for node, group in enumerate(groups, start=1):
            if not (group.startswith("|") and group.endswith("|")):
                raise InvalidArchitectureError(f"node {node}: {group!r} must be enclosed in '|'.")
            edges = group[1:-1].split("|")
            if len(edges) != node:
                raise InvalidArchitectureError(
                    f"node {node}: needs {node} edge(s) (one from each earlier node), got "
                    f"{len(edges)}.")
            for source, edge in enumerate(edges):
                match = re.fullmatch(r"(\w+)~(\d+)", edge)
                where = f"node {node}, edge {edge!r}"
                if not match:
                    raise InvalidArchitectureError(f"{where}: must be 'op~source'.")
                if int(match.group(2)) != source:
                    raise InvalidArchitectureError(
                        f"{where}: expected the edge from node {source} here.")
                values.append(self._op_index(match.group(1), OPS, where))
        return self.validate(values)

    def from_string(self, text: str) -> tuple[int, ...]:
        """The benchmark's architecture string, or the 6 integers."""
        text = text.strip()
        return self.from_arch_str(text) if text.startswith("|") else super().from_string(text)

    # --- JSON and words ---------------------------------------------------------------

    def to_json(self, arc: Sequence[int]) -> dict[str, Any]:
        arc = self.validate(arc)
        return {"search_space": self.name, "arch_str": self.to_arch_str(arc),
                "enas_string": self.to_string(arc),
                "edges": [{"node": node, "from": source, "op": OPS[value]}
                          for (node, source), value in zip(EDGES, arc)]}

    def from_json(self, data: Mapping[str, Any]) -> tuple[int, ...]:
        self._check_json_header(data)
        if "arch_str" in data:
            arc = self.from_arch_str(data["arch_str"])
            return self._check_string_agrees(data, arc, "'arch_str'")
        if "edges" not in data:
            raise InvalidArchitectureError("architecture JSON needs 'arch_str' or 'edges'.")
        ops = {}
        for edge in data["edges"]:
            key = (edge.get("node"), edge.get("from"))
            if key not in EDGES:
                raise InvalidArchitectureError(f"edge {key} is not an edge of the cell.")
            ops[key] = self._op_index(edge.get("op"), OPS, f"edge {key[1]}->{key[0]}")
        missing = [f"{s}->{n}" for n, s in EDGES if (n, s) not in ops]
        if missing:
            raise InvalidArchitectureError(f"architecture JSON lacks edge(s) {', '.join(missing)}.")
        return self._check_string_agrees(data, self.validate([ops[e] for e in EDGES]), "'edges'")

    def describe(self, arc: Sequence[int]) -> str:
        """One line per node: what it sums (edges holding ``none`` are left out)."""
        arc = self.validate(arc)
        lines = []
        for node in range(1, NUM_NODES):
            terms = [f"{OPS[v]}(n{s})" for (n, s), v in zip(EDGES, arc) if n == node and v]
            lines.append(f"n{node} = {' + '.join(terms) if terms else 'zero'}")
        return "\n".join(lines)

    def draw(self, arc: Sequence[int], title: str = ""):
        from enas_tf.search_spaces.nb201_pictures import draw_cell

        return draw_cell(self, self.validate(arc), title)
