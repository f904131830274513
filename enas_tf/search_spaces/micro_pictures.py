"""Drawing two-input cells (ENAS micro, DARTS): nodes as circles, each slot's op as a
coloured box before its node, in the style of the NASNet/ENAS/DARTS papers' figures.

Nodes sit in columns by depth (longest path from the cell inputs), so a shallow, wide
cell looks shallow and wide. The unused nodes feed the output (the concatenation) by
dashed arrows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from enas_tf.search_spaces.pictures import (NODE_COLORS, OP_COLORS, SHORT_OP_NAMES, line,
                                            new_figure)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure



def node_depths(cell_arc: Sequence[int], num_nodes: int) -> list[int]:
    """Longest path from the cell inputs (depth 0) to every node."""
    depths = [0, 0]
    for n in range(num_nodes):
        sources = cell_arc[4 * n], cell_arc[4 * n + 2]
        depths.append(1 + max(depths[s] for s in sources))
    return depths


COLUMN_WIDTH = 2.6  # horizontal distance between depths, in node spacings
MARGIN = 0.8  # around the outermost nodes, in node spacings


def cell_layout(cell_arc: Sequence[int], num_nodes: int) -> dict[int, tuple[float, float]]:
    """``{node: (x, y)}`` for the inputs, the searched nodes and the output
    (``num_nodes + 2``): columns by depth, lone nodes of a chain zig-zagging so that
    arrows skipping a column pass beside the nodes between."""
    depths = node_depths(cell_arc, num_nodes)
    columns: dict[int, list[int]] = {}
    for node, depth in enumerate(depths):
        columns.setdefault(depth, []).append(node)
    height = max(max(len(nodes) for nodes in columns.values()) - 1, 2)
    positions = {}
    for depth, nodes in columns.items():
        if len(nodes) == 1:
            ys = [0.6 * (1 if depth % 2 else -1)]
        else:
            # Spread a short column (e.g. the two inputs) over part of the tallest one.
            spacing = max(1.0, height / (2.0 * (len(nodes) - 1)))
            ys = [spacing * ((len(nodes) - 1) / 2.0 - row) for row in range(len(nodes))]
        for node, y in zip(nodes, ys):
            positions[node] = (COLUMN_WIDTH * depth, y)
    positions[num_nodes + 2] = (COLUMN_WIDTH * (max(depths) + 1), 0.0)
    return positions


def _extent(positions) -> tuple[float, float]:
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    return max(xs) - min(xs) + 2 * MARGIN, max(ys) - min(ys) + 2 * MARGIN


def draw_cell(ax: "Axes", space, cell_arc: Sequence[int], title: str):
    """Draws one cell (``4 * num_nodes`` integers) into ``ax``: each slot's op is a
    coloured box just before its node, fed by a line from the slot's input node."""
    num_nodes = space.num_nodes
    positions = cell_layout(cell_arc, num_nodes)
    output = num_nodes + 2
    for n in range(num_nodes):
        x, y = positions[n + 2]
        for s in range(2):
            source, op = cell_arc[4 * n + 2 * s], cell_arc[4 * n + 2 * s + 1]
            color = OP_COLORS.get(space.ops[op], "tab:olive")
            box = (x - 0.42 * COLUMN_WIDTH, y + (0.24 if s == 0 else -0.24))
            span = round((x - positions[source][0]) / COLUMN_WIDTH)
            # Lines that skip a column bend around the nodes in between.
            bend = 0.0 if span <= 1 else (0.15 if s == 0 else -0.15)
            line(ax, positions[source], box, color, bend, arrow=False, shrink=(14, 22))
            line(ax, box, (x, y), color, shrink=(20, 9))
            ax.text(*box, SHORT_OP_NAMES.get(space.ops[op], space.ops[op]), fontsize=6.5,
                    ha="center", va="center", color="white",
                    bbox={"boxstyle": "round,pad=0.2", "fc": color, "ec": "none"})
    for node in space.cell_outputs(cell_arc):
        line(ax, positions[node], positions[output], "#999999", dashed=True)
    labels = {0: "c[k-2]", 1: "c[k-1]", output: "concat"}
    for node, (x, y) in positions.items():
        kind = "input" if node < 2 else "output" if node == output else "node"
        ax.text(x, y, labels.get(node, str(node)), ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "circle,pad=0.3" if kind == "node" else "round,pad=0.35",
                      "fc": NODE_COLORS[kind], "ec": "#444444"})
    xs = [p[0] for p in positions.values()]
    ys = [p[1] for p in positions.values()]
    ax.set_xlim(min(xs) - MARGIN, max(xs) + MARGIN)
    ax.set_ylim(min(ys) - MARGIN, max(ys) + MARGIN)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    ax.axis("off")


def draw_micro(space, arc: Sequence[int], title: str = "") -> "Figure":
    """The cells of a cell architecture (micro, DARTS: normal and reduce) side by side."""
    cells = space.split(arc)
    extents = [_extent(cell_layout(cell, space.num_nodes)) for cell in cells]
    inches = 0.7  # per node spacing
    figure = new_figure(inches * sum(w for w, _ in extents) + 0.6,
                        inches * max(h for _, h in extents) + (0.9 if title else 0.5))
    axes = figure.subplots(1, len(cells), gridspec_kw={"width_ratios": [w for w, _ in extents]},
                           squeeze=False)[0]
    for ax, kind, cell in zip(axes, space.cell_types, cells):
        draw_cell(ax, space, cell, f"{kind} cell")
    if title:
        figure.suptitle(title, fontsize=10)
    return figure
