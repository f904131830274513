"""The DARTS cell space (Liu et al., ICLR 2019; quark0/darts ``cnn/genotypes.py``).

A cell has two inputs (0: cell k-2, 1: cell k-1) and 4 intermediate nodes. During search
every node sums a mixed op over all 8 primitives on each of its incoming edges (14
edges per cell); a derived *genotype* keeps two ``(op, input)`` pairs per node, and the
cell output concatenates all 4 intermediate nodes.

As an architecture of this library a genotype is the micro layout: per node
``input_1 op_1 input_2 op_2``, normal cell then reduction cell (32 integers), with the
ops indexing the 7 primitives other than ``none``. DARTS's own notation
(``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], ...)``) reads
and writes, so published genotypes paste in; ``DARTS_V1``, ``DARTS_V2`` and ``GDAS_V1``
are known by name. With ``fixed_reduction`` (space ``darts_frc``, GDAS-FRC) only the
normal cell is searched (16 integers) and the reduction cell is GDAS's fixed one;
``GDAS_F1`` is its published genotype.
"""

from __future__ import annotations

import ast
import re
from typing import Sequence

import numpy as np

from enas_tf.search_spaces.base import InvalidArchitectureError
from enas_tf.search_spaces.micro import CELL_TYPES, MicroSearchSpace

# The DARTS primitives in the official order (columns of the architecture weights).
PRIMITIVES: tuple[str, ...] = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
GENOTYPE_OPS = PRIMITIVES[1:]  # a derived cell never keeps "none"
NUM_NODES = 4
NUM_EDGES = sum(2 + i for i in range(NUM_NODES))  # 14

PUBLISHED_GENOTYPES = {
    "DARTS_V1": "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
                "('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), "
                "('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], "
                "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), "
                "('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
                "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], "
                "reduce_concat=[2, 3, 4, 5])",
    "DARTS_V2": "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
                "('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), "
                "('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
                "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), "
                "('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
                "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
                "reduce_concat=[2, 3, 4, 5])",
    "GDAS_V1": "Genotype(normal=[('skip_connect', 0), ('skip_connect', 1), "
               "('skip_connect', 0), ('sep_conv_5x5', 2), ('sep_conv_3x3', 3), "
               "('skip_connect', 0), ('sep_conv_5x5', 4), ('sep_conv_3x3', 3)], "
               "normal_concat=[2, 3, 4, 5], reduce=[('sep_conv_5x5', 0), ('sep_conv_3x3', 1), "
               "('sep_conv_5x5', 2), ('sep_conv_5x5', 1), ('dil_conv_5x5', 2), "
               "('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_5x5', 1)], "
               "reduce_concat=[2, 3, 4, 5])",
    # GDAS-FRC: the normal cell searched with the fixed reduction cell (search space
    # ``darts_frc``); AutoDL-Projects GDAS_F1.
    "GDAS_F1": "Genotype(normal=[('skip_connect', 0), ('skip_connect', 1), "
               "('skip_connect', 0), ('sep_conv_3x3', 2), ('skip_connect', 0), "
               "('sep_conv_3x3', 2), ('skip_connect', 0), ('sep_conv_3x3', 2)], "
               "normal_concat=[2, 3, 4, 5], reduce=None, reduce_concat=None)",
}
PUBLISHED_DARTS_ARC = "DARTS_V2"  # the paper's cell (``DARTS = DARTS_V2``)
PUBLISHED_FRC_ARC = "GDAS_F1"


def reduction_cells(num_cells: int) -> tuple[int, int]:
    """Positions of the two reduction cells (DARTS: ``layers // 3``, ``2 * layers // 3``)."""
    return num_cells // 3, 2 * num_cells // 3


def edge_index(node: int, source: int) -> int:
    """Row of the architecture weights for the edge ``source -> node`` (node 2..5)."""
    return sum(2 + i for i in range(node - 2)) + source


class DartsSearchSpace(MicroSearchSpace):
    """Genotypes of the DARTS cell space (normal + reduction cell, 4 nodes).

    Example:

    ```python
    space = DartsSearchSpace()
    arc = space.from_string("DARTS_V2")
    print(space.to_genotype(arc))
    arc = space.derive(alpha_normal, alpha_reduce)   # [14, 8] each
    ```

    Args:
      fixed_reduction: search only the normal cell, with GDAS's fixed reduction cell
        (the ``darts_frc`` space).
    """

    name = "darts"

    def __init__(self, fixed_reduction: bool = False):
        super().__init__(num_nodes=NUM_NODES, ops=GENOTYPE_OPS,
                         cell_types=("normal",) if fixed_reduction else CELL_TYPES)
        self.fixed_reduction = fixed_reduction
        if fixed_reduction:
            self.name = "darts_frc"

    @property
    def weight_shapes(self) -> dict[str, tuple[int, int]]:
        """Architecture-weight tensors: one ``[14 edges, 8 primitives]`` per searched cell."""
        return {cell: (NUM_EDGES, len(PRIMITIVES)) for cell in self.cell_types}

    def notation(self, arc: Sequence[int]) -> str:
        return self.to_genotype(arc)

    def weight_labels(self) -> tuple[list[str], tuple[str, ...]]:
        """Row (edge) and column (primitive) names of an architecture-weight tensor."""
        labels = [""] * NUM_EDGES
        for node in range(2, NUM_NODES + 2):
            for source in range(node):
                labels[edge_index(node, source)] = f"{node} <- {source}"
        return labels, PRIMITIVES

    def cell_outputs(self, cell_arc: Sequence[int]) -> list[int]:
        """A DARTS cell concatenates all its intermediate nodes."""
        return list(range(2, NUM_NODES + 2))

    # --- DARTS's genotype notation ---------------------------------------------------

    def to_genotype(self, arc: Sequence[int]) -> str:
        """``Genotype(normal=[(op, input), ...], normal_concat=[2, 3, 4, 5], ...)``."""
        parts = []
        for cell, cell_arc in zip(self.cell_types, self.split(arc)):
            pairs = [(self.ops[cell_arc[i + 1]], cell_arc[i]) for i in range(0, len(cell_arc), 2)]
            parts.append(f"{cell}={pairs!r}, {cell}_concat={list(range(2, NUM_NODES + 2))}")
        if self.fixed_reduction:
            parts.append("reduce=None, reduce_concat=None")
        return f"Genotype({', '.join(parts)})"

    def from_string(self, text: str) -> tuple[int, ...]:
        """A published name (``DARTS_V2``), DARTS's ``Genotype(...)`` notation, or the
        integer string."""
        text = self._published_or_text(text, PUBLISHED_GENOTYPES, "genotype")
        if text.startswith("Genotype"):
            return self.from_genotype(text)
        return super().from_string(text)

    def from_genotype(self, text: str) -> tuple[int, ...]:
        fields = {}
        for match in re.finditer(r"(\w+)\s*=\s*(\[[^\]]*\]|range\([^)]*\)|None)", text):
            fields[match.group(1)] = match.group(2)
        values = []
        if self.fixed_reduction and fields.get("reduce", "None") != "None":
            raise InvalidArchitectureError(
                "the darts_frc space searches only the normal cell (the reduction cell is "
                "GDAS's fixed one); give a genotype without a 'reduce' list.")
        for cell in self.cell_types:
            if fields.get(cell, "None") == "None":
                hint = (" (a fixed-reduction-cell genotype belongs to --search_space=darts_frc)"
                        if cell == "reduce" else "")
                raise InvalidArchitectureError(f"genotype has no '{cell}' list{hint}.")
            try:
                pairs = ast.literal_eval(fields[cell])
            except (ValueError, SyntaxError):
                raise InvalidArchitectureError(
                    f"genotype '{cell}' is not a list of (op, input) pairs.") from None
            if len(pairs) != 2 * NUM_NODES:
                raise InvalidArchitectureError(
                    f"genotype '{cell}' needs {2 * NUM_NODES} (op, input) pairs, got "
                    f"{len(pairs)}.")
            concat = fields.get(f"{cell}_concat", "[2, 3, 4, 5]").replace(" ", "")
            if concat not in ("[2,3,4,5]", "range(2,6)", f"range(2,{2 + NUM_NODES})"):
                raise InvalidArchitectureError(
                    f"genotype '{cell}_concat' must be all intermediate nodes [2, 3, 4, 5], "
                    f"got {fields[cell + '_concat']}.")
            for k, pair in enumerate(pairs):
                where = f"{cell}/node{2 + k // 2}/op{k % 2 + 1}"
                if not (isinstance(pair, tuple) and len(pair) == 2):
                    raise InvalidArchitectureError(f"{where}: {pair!r} is not an (op, input) pair.")
                op, source = pair
                if op == "none":
                    raise InvalidArchitectureError(f"{where}: a genotype cannot keep 'none'.")
                values += [source, self._op_index(op, self.ops, where)]
        return self.validate(values)

    # --- deriving a genotype from architecture weights ------------------------------

    def derive(self, *alphas) -> tuple[int, ...]:
        """DARTS's derivation (``model_search.genotype``): per node, the two incoming
        edges whose strongest non-``none`` softmax weight is largest, each with its
        strongest non-``none`` op. ``alphas``: ``[14, 8]`` logits per searched cell
        (normal, reduce)."""
        values = []
        for weights in self._softmax_without_none(alphas):
            for node in range(2, NUM_NODES + 2):
                rows = weights[edge_index(node, 0):edge_index(node, node)]
                strongest = sorted(range(node), key=lambda j: -rows[j].max())[:2]
                for source in strongest:
                    values += [source, int(np.argmax(rows[source])) - 1]  # ops skip "none"
        return self.validate(values)

    def derive_top_pairs(self, *alphas) -> tuple[int, ...]:
        """GDAS's derivation on this space (AutoDL-Projects ``search_model_gdas_nasnet``
        ``genotype``): per node, the two largest (op, input) entries of softmax(alpha) over
        all non-``none`` ops of all incoming edges; both may read the same input."""
        values = []
        for weights in self._softmax_without_none(alphas):
            for node in range(2, NUM_NODES + 2):
                rows = weights[edge_index(node, 0):edge_index(node, node)]
                entries = [(rows[j, k], j, k) for j in range(node)
                           for k in range(1, len(PRIMITIVES))]
                for _, source, op in sorted(entries, key=lambda e: -e[0])[:2]:  # stable
                    values += [source, op - 1]
        return self.validate(values)

    def _softmax_without_none(self, alphas) -> list[np.ndarray]:
        """softmax(alpha) of each searched cell, its ``none`` column set to -inf."""
        if len(alphas) != len(self.cell_types):
            raise ValueError(f"need architecture weights for {len(self.cell_types)} cell(s) "
                             f"({', '.join(self.cell_types)}), got {len(alphas)}.")
        cells = []
        for alpha in alphas:
            alpha = np.asarray(alpha, dtype=np.float64)
            if alpha.shape != (NUM_EDGES, len(PRIMITIVES)):
                raise ValueError(f"architecture weights must be [{NUM_EDGES}, "
                                 f"{len(PRIMITIVES)}], got {list(alpha.shape)}.")
            weights = np.exp(alpha - alpha.max(axis=1, keepdims=True))
            weights /= weights.sum(axis=1, keepdims=True)
            weights[:, PRIMITIVES.index("none")] = -np.inf  # never chosen
            cells.append(weights)
        return cells
