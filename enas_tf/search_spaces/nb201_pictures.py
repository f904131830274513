"""Drawing a NAS-Bench-201 cell: its 4 nodes in a row, each edge an arc labelled with
its op in the colours of the other cell pictures; edges holding ``none`` are left out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from enas_tf.search_spaces.pictures import NODE_COLORS, OP_COLORS, SHORT_OP_NAMES, line, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def draw_cell(space, arc: Sequence[int], title: str = "") -> "Figure":
    edges, num_nodes = space.edges, space.num_nodes

    figure = new_figure(6.5, 2.6)
    ax = figure.add_subplot()
    positions = {node: (2.0 * node, 0.0) for node in range(num_nodes)}
    for (node, source), value in zip(edges, arc):
        op = space.ops[value]
        if op == "none":
            continue
        span = node - source
        rad = -0.35 * (span - 1) if span > 1 else 0.0
        color = OP_COLORS.get(op, "black")
        line(ax, positions[source], positions[node], color, rad=rad)
        x = (positions[source][0] + positions[node][0]) / 2
        y = 0.0 if span == 1 else 0.35 * (span - 1) * (2.0 * span) / 2
        ax.text(x, y, SHORT_OP_NAMES.get(op, op), ha="center", va="center", fontsize=7,
                color="white", bbox=dict(boxstyle="round,pad=0.25", fc=color, ec="none"))
    for node, (x, y) in positions.items():
        kind = "input" if node == 0 else "output" if node == num_nodes - 1 else "node"
        label = {0: "in", num_nodes - 1: "out"}.get(node, str(node))
        ax.text(x, y, label, ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="circle,pad=0.3", fc=NODE_COLORS[kind], ec="#444444"))
    ax.set_xlim(-0.8, 2.0 * (num_nodes - 1) + 0.8)
    ax.set_ylim(-0.6, 2.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or space.to_arch_str(arc), fontsize=8)
    return figure
