"""The ENAS recurrent-cell space (Pham et al. 2018, Sec. 2.2), as the authors' corrected
code builds it (``google-research/enas_lm``).

Node 0 reads ``x_t`` and ``h_{t-1}`` and always applies tanh. Each later node ``l``
(``1 .. num_nodes``) reads one earlier node ``j < l`` and applies one of ``FUNCTIONS``
(enas_lm's order). Every node is a highway unit ``s = prev + sigmoid(t) * (f(h) - prev)``
and the cell's output ``h_t`` is the mean of the searched nodes ``1 .. num_nodes``, as
enas_lm computes it. An architecture is enas_lm's flat encoding: one ``(previous node,
function)`` pair per searched node:

```
0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2      # enas_lm's published cell, 8 nodes
```

DARTS's recurrent space (Liu et al. 2019, quark0/darts ``rnn/``) is this space: the same
highway nodes, each reading one earlier node through one of the same four functions, so
one space serves both. DARTS writes a cell as ``Genotype(recurrent=[(function, input),
...], concat=range(1, 9))``; ``notation`` writes it, ``from_string`` reads it (and the
names ``DARTS_V1``, ``DARTS_V2``, ``ENAS`` of DARTS's ``genotypes.py``). ``concat`` (the
nodes the output averages, all searched ones by default) is a setting of the space, as
DARTS's transcription of the ENAS cell averages 6 of its 11 nodes. DARTS and GDAS search
it through architecture weights ``[edges, 5]`` over ``none`` and the four functions, one
row per (node, earlier node) edge (``weight_shapes``, ``derive``).

The supernets are ``enas_tf.supernet.rnn`` (ENAS: a kernel per function and input) and
``enas_tf.supernet.darts_rnn`` (DARTS: one kernel per node, mixed edges); the cell is
``enas_tf.layers.rnn_cell``, the final language model ``enas_tf.models.rnn_lm``.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Mapping, Sequence

import numpy as np

from enas_tf.search_spaces.base import Decision, InvalidArchitectureError, SearchSpace

FUNCTIONS: tuple[str, ...] = ("tanh", "relu", "sigmoid", "identity")
# The columns of DARTS's recurrent architecture weights (rnn/genotypes.py PRIMITIVES).
PRIMITIVES: tuple[str, ...] = ("none",) + FUNCTIONS
# google-research/enas_lm README: the cell found by its search (8 searched nodes).
ENAS_LM_CELL = "0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2"
# quark0/darts rnn/genotypes.py; ENAS is DARTS's transcription of the ENAS paper's cell.
PUBLISHED_GENOTYPES = {
    "DARTS_V1": "Genotype(recurrent=[('relu', 0), ('relu', 1), ('tanh', 2), ('relu', 3), "
                "('relu', 4), ('identity', 1), ('relu', 5), ('relu', 1)], concat=range(1, 9))",
    "DARTS_V2": "Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), "
                "('identity', 1), ('tanh', 2), ('sigmoid', 5), ('tanh', 3), ('relu', 5)], "
                "concat=range(1, 9))",
    "ENAS": "Genotype(recurrent=[('tanh', 0), ('tanh', 1), ('relu', 1), ('tanh', 3), "
            "('tanh', 3), ('relu', 3), ('relu', 4), ('relu', 7), ('relu', 8), ('relu', 8), "
            "('relu', 8)], concat=[2, 5, 6, 9, 10, 11])",
    "ENAS_LM": ENAS_LM_CELL,
}


def edge_index(node: int, source: int) -> int:
    """Row of the architecture weights for the edge ``source -> node`` (node ``1 .. N``
    reads ``0 .. node - 1``; DARTS's ``offset``)."""
    return node * (node - 1) // 2 + source


def parse_concat(text: str | Sequence[int] | None, num_nodes: int) -> tuple[int, ...]:
    """The nodes a cell's output averages: ``None``/``"all"`` for ``1 .. num_nodes``, else a
    list or a comma-separated string of node numbers (``"2,5,6,9,10,11"``)."""
    if text is None or (isinstance(text, str) and text.strip() in ("", "all")):
        return tuple(range(1, num_nodes + 1))
    try:
        nodes = ([int(v) for v in text.replace(",", " ").split()] if isinstance(text, str)
                 else [int(v) for v in text])
    except (TypeError, ValueError):
        raise ValueError(f"concat must be 'all' or node numbers such as '2,5,6', got "
                         f"{text!r}.") from None
    if not nodes or sorted(set(nodes)) != nodes or not 1 <= nodes[0] <= nodes[-1] <= num_nodes:
        raise ValueError(f"concat must list increasing node numbers in 1..{num_nodes}, got "
                         f"{text!r}.")
    return tuple(nodes)


class RecurrentCellSearchSpace(SearchSpace):
    """Recurrent cells of ``num_nodes`` searched nodes after the fixed tanh node 0.

    Args:
      num_nodes: searched nodes (enas_lm searches 9; its published cell has 8; DARTS 8).
      concat: the nodes the output averages (``parse_concat``); all by default.

    Example:

    ```python
    space = RecurrentCellSearchSpace(num_nodes=8)
    arc = space.from_string(ENAS_LM_CELL)
    space.nodes(arc)[:2]     # [(0, 'sigmoid'), (1, 'tanh')]
    space.notation(space.from_string("DARTS_V2"))
    # "Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ...], concat=range(1, 9))"
    ```
    """

    name = "rnn"

    def __init__(self, num_nodes: int = 9, concat: str | Sequence[int] | None = None):
        if num_nodes < 1:
            raise ValueError(f"num_nodes must be >= 1, got {num_nodes}.")
        self.num_nodes = num_nodes
        self.concat = parse_concat(concat, num_nodes)
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

    @property
    def averages_all(self) -> bool:
        return self.concat == tuple(range(1, self.num_nodes + 1))

    def to_json(self, arc: Sequence[int]) -> dict[str, Any]:
        arc = self.validate(arc)
        return {"search_space": self.name, "num_nodes": self.num_nodes,
                "concat": list(self.concat), "genotype": self.notation(arc),
                "enas_string": self.to_string(arc),
                "nodes": [{"node": i + 1, "input": prev, "function": function}
                          for i, (prev, function) in enumerate(self.nodes(arc))]}

    def from_json(self, data: Mapping[str, Any]) -> tuple[int, ...]:
        self._check_json_header(data, num_nodes=self.num_nodes)
        if isinstance(data.get("concat"), list) and tuple(data["concat"]) != self.concat:
            raise InvalidArchitectureError(
                f"architecture has concat={data['concat']}, the search space has "
                f"{list(self.concat)} (--rnn_concat).")
        if "nodes" not in data:
            for key in ("enas_string", "genotype"):
                if isinstance(data.get(key), str):
                    return self.from_string(data[key])
            raise InvalidArchitectureError("architecture JSON needs 'nodes', 'enas_string' or "
                                           "'genotype'.")
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
        lines.append(f"h_t = mean(s1 .. s{self.num_nodes})" if self.averages_all else
                     f"h_t = mean({', '.join(f's{n}' for n in self.concat)})")
        return "\n".join(lines)

    # --- DARTS's genotype notation ---------------------------------------------------

    def notation(self, arc: Sequence[int]) -> str:
        """DARTS's ``Genotype(recurrent=[(function, input), ...], concat=...)``."""
        pairs = [(function, prev) for prev, function in self.nodes(arc)]
        concat = (f"range(1, {self.num_nodes + 1})" if self.averages_all
                  else repr(list(self.concat)))
        return f"Genotype(recurrent={pairs!r}, concat={concat})"

    def from_string(self, text: str) -> tuple[int, ...]:
        """A published name (``DARTS_V2``, ``DARTS_V1``, ``ENAS``, ``ENAS_LM``), DARTS's
        ``Genotype(recurrent=..., concat=...)``, or the integer string."""
        text = self._published_or_text(text, PUBLISHED_GENOTYPES, "recurrent cell")
        if text.startswith("Genotype"):
            return self.from_genotype(text)
        return super().from_string(text)

    def from_genotype(self, text: str) -> tuple[int, ...]:
        """DARTS's notation; a cell of other nodes or outputs than this space's is refused
        naming the settings that fit it."""
        fields = dict(re.findall(r"(\w+)\s*=\s*(\[.*?\]\]?|\[[^\]]*\]|range\([^)]*\))", text))
        try:
            pairs = ast.literal_eval(fields["recurrent"])
        except (KeyError, ValueError, SyntaxError):
            raise InvalidArchitectureError(
                "a recurrent genotype needs recurrent=[(function, input), ...].") from None
        concat_text = fields.get("concat", f"range(1, {len(pairs) + 1})")
        try:
            concat = (list(range(*ast.literal_eval(concat_text[5:])))
                      if concat_text.startswith("range") else ast.literal_eval(concat_text))
            concat = parse_concat(concat, max(len(pairs), 1))
        except (ValueError, SyntaxError, TypeError):
            raise InvalidArchitectureError(f"genotype concat {concat_text} is not a list of "
                                           f"node numbers in 1..{len(pairs)}.") from None
        if len(pairs) != self.num_nodes or concat != self.concat:
            raise InvalidArchitectureError(
                f"this genotype has {len(pairs)} nodes averaging {list(concat)}; the space has "
                f"{self.num_nodes} averaging {list(self.concat)}: give --num_nodes="
                f"{len(pairs)}" + ("" if concat == tuple(range(1, len(pairs) + 1)) else
                                   f" --rnn_concat={','.join(map(str, concat))}") + ".")
        values = []
        for node, pair in enumerate(pairs, start=1):
            where = f"node {node}"
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise InvalidArchitectureError(f"{where}: {pair!r} is not a (function, input) "
                                               "pair.")
            function, prev = pair
            if function == "none":
                raise InvalidArchitectureError(f"{where}: a derived cell cannot keep 'none'.")
            values += [prev, self._op_index(function, FUNCTIONS, where)]
        return self.validate(values)

    # --- DARTS's architecture weights ------------------------------------------------

    @property
    def num_edges(self) -> int:
        return edge_index(self.num_nodes + 1, 0)

    @property
    def weight_shapes(self) -> dict[str, tuple[int, int]]:
        """One ``[edges, 5]`` tensor (DARTS: ``[36, 5]`` for 8 nodes)."""
        return {"recurrent": (self.num_edges, len(PRIMITIVES))}

    def weight_labels(self) -> tuple[list[str], tuple[str, ...]]:
        """Row (edge) and column (primitive) names of the architecture weights."""
        return ([f"{node} <- {source}" for node in range(1, self.num_nodes + 1)
                 for source in range(node)], PRIMITIVES)

    def derive(self, alpha) -> tuple[int, ...]:
        """DARTS's derivation (``RNNModelSearch.genotype``): per node, the input whose
        strongest non-``none`` softmax weight is largest, with that strongest function;
        ``none`` is never kept. ``alpha``: ``[edges, 5]`` logits."""
        alpha = np.asarray(alpha, dtype=np.float64)
        if alpha.shape != self.weight_shapes["recurrent"]:
            raise ValueError(f"architecture weights must be {list(self.weight_shapes['recurrent'])}"
                             f", got {list(alpha.shape)}.")
        weights = np.exp(alpha - alpha.max(axis=1, keepdims=True))
        weights = weights / weights.sum(axis=1, keepdims=True)
        values = []
        for node in range(1, self.num_nodes + 1):
            rows = weights[edge_index(node, 0):edge_index(node, node), 1:]  # without none
            source = sorted(range(node), key=lambda j: -rows[j].max())[0]
            values += [source, int(np.argmax(rows[source]))]
        return self.validate(values)

    def draw(self, arc: Sequence[int], title: str = ""):
        from enas_tf.search_spaces.rnn_pictures import draw_cell

        return draw_cell(self, self.validate(arc), title)
