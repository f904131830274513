"""Drawing a recurrent cell: ``x_t`` and ``h_{t-1}`` feed node 0, each node is a circle
coloured by its activation and placed in a column by depth, an arrow from the node it
reads; dashed arrows show which nodes the output ``h_t`` averages (all searched ones, or
the space's ``concat``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from enas_tf.search_spaces.pictures import NODE_COLORS, line, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FUNCTION_COLORS = {"tanh": "#9fc5e8", "relu": "#f9cb9c", "sigmoid": "#b6d7a8",
                   "identity": "#d9d9d9"}


def cell_positions(nodes: Sequence[tuple[int, str]]) -> dict[int, tuple[float, float]]:
    """``{node: (x, y)}``: columns by depth (node 0 at depth 1), rows in order."""
    depths = [1]
    for prev, _ in nodes:
        depths.append(depths[prev] + 1)
    rows: dict[int, int] = {}
    positions = {}
    for node, depth in enumerate(depths):
        row = rows.get(depth, 0)
        rows[depth] = row + 1
        positions[node] = (1.6 * depth, -1.0 * row)
    return positions


def draw_cell(space, arc: Sequence[int], title: str = "") -> "Figure":
    nodes = space.nodes(arc)
    positions = cell_positions(nodes)
    depth = max(x for x, _ in positions.values())
    height = -min(y for _, y in positions.values())
    figure = new_figure(2.0 + 1.1 * depth, 1.8 + 0.8 * height)
    ax = figure.add_subplot()
    inputs = {"x_t": (0.0, 0.45), "h_{t-1}": (0.0, -0.45)}
    output = (depth + 1.6, -height / 2)
    for name, point in inputs.items():
        line(ax, point, positions[0], "#444444")
        ax.text(*point, f"${name}$", ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.3", fc=NODE_COLORS["input"], ec="#444444"))
    for node, (prev, _) in enumerate(nodes, start=1):
        span = positions[node][0] - positions[prev][0]
        rad = 0.3 if span > 1.7 else 0.0
        line(ax, positions[prev], positions[node], "#444444", rad=rad)
        if node in space.concat:
            line(ax, positions[node], output, "#999999", dashed=True)
    labels = ["tanh"] + [function for _, function in nodes]
    for node, (x, y) in positions.items():
        ax.text(x, y, f"{node}\n{labels[node]}", ha="center", va="center", fontsize=7,
                bbox=dict(boxstyle="circle,pad=0.25", fc=FUNCTION_COLORS[labels[node]],
                          ec="#444444"))
    ax.text(*output, "$h_t$\nmean", ha="center", va="center", fontsize=8,
            bbox=dict(boxstyle="round,pad=0.3", fc=NODE_COLORS["output"], ec="#444444"))
    ax.set_xlim(-0.7, output[0] + 0.7)
    ax.set_ylim(-height - 0.7, 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or space.to_string(arc), fontsize=8)
    return figure
