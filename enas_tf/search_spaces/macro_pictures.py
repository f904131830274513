"""Drawing ENAS macro networks and their policies.

A network is a row of layer boxes (coloured by op) after the stem, with each skip drawn
as an arc from the tensor it adds to the layer that adds it; dashed lines mark where
every stored tensor is halved in resolution. The policy picture has two heat-maps: op
probabilities per layer, and the probability of every skip (layer x earlier layer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from enas_tf.search_spaces.pictures import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SHORT_OP_NAMES = {"conv_3x3": "conv\n3x3", "sep_conv_3x3": "sep\n3x3", "conv_5x5": "conv\n5x5",
                  "sep_conv_5x5": "sep\n5x5", "avg_pool_3x3": "avg\n3x3",
                  "max_pool_3x3": "max\n3x3"}
OP_COLORS = ("tab:blue", "tab:cyan", "tab:purple", "tab:pink", "tab:green", "tab:orange")
ARC_HEIGHT = 0.12  # height of a skip arc per layer it spans


def draw_macro(space, arc: Sequence[int], title: str = "") -> "Figure":
    """The network of ``arc``: box ``k`` is layer ``k - 1`` (box 0 the stem); a skip bit
    ``j`` of layer ``i`` is an arc from box ``j`` to box ``i + 1``."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path

    layers = space.layers(arc)
    count = len(layers) + 1
    max_span = max([i + 1 - j for i, (_, skips) in enumerate(layers) for j in skips],
                   default=1)
    top = 0.5 + ARC_HEIGHT * max_span
    figure = new_figure(max(5.0, 0.75 * count + 1.0), 1.2 + 0.45 * top)
    ax = figure.subplots()
    ax.set_xlim(-0.7, count - 0.3)
    ax.set_ylim(-1.0, top)
    ax.axis("off")
    labels = ["stem"] + [SHORT_OP_NAMES.get(space.ops[op], space.ops[op]) for op, _ in layers]
    colors = ["#cfe2f3"] + [OP_COLORS[op % len(OP_COLORS)] for op, _ in layers]
    for k, (label, color) in enumerate(zip(labels, colors)):
        ax.add_patch(FancyBboxPatch((k - 0.32, -0.3), 0.64, 0.6, boxstyle="round,pad=0.02",
                                    facecolor=color, edgecolor="black", alpha=0.85))
        ax.text(k, 0, label, ha="center", va="center", fontsize=6.5,
                color="black" if k == 0 else "white")
        if k:
            ax.text(k, -0.5, str(k - 1), ha="center", va="top", fontsize=6, color="gray")
            ax.annotate("", xy=(k - 0.33, 0), xytext=(k - 0.67, 0),
                        arrowprops=dict(arrowstyle="->", lw=0.8))
    for layer in space.pool_layers():
        x = layer + 1.5
        ax.axvline(x, color="gray", linestyle="--", lw=0.8)
        ax.text(x, -0.85, "resolution / 2", ha="center", fontsize=6, color="gray")
    for i, (_, skips) in enumerate(layers):
        for j in skips:
            # A quadratic Bezier in data units peaks at half its control point's height.
            lift = 2 * ARC_HEIGHT * (i + 1 - j)
            path = Path([(j, 0.32), ((j + i + 1) / 2, 0.32 + lift), (i + 1, 0.32)],
                        [Path.MOVETO, Path.CURVE3, Path.CURVE3])
            ax.add_patch(FancyArrowPatch(path=path, arrowstyle="->", lw=0.7, color="dimgray",
                                         mutation_scale=7))
    ax.set_title(title or f"{space.num_layers} layers, skip rate {space.skip_rate(arc):.2f}",
                 fontsize=9)
    return figure


def draw_macro_probabilities(space, probabilities: Sequence[np.ndarray],
                             title: str = "") -> "Figure":
    """Heat-maps of the op probabilities (layer x op) and of each skip's probability
    (layer x earlier layer) from per-decision probability vectors in the flat order."""
    num_layers = space.num_layers
    ops = np.full((num_layers, space.num_branches), np.nan)
    skips = np.full((num_layers, max(1, num_layers - 1)), np.nan)
    for layer in range(num_layers):
        start = space.layer_start(layer)
        ops[layer] = probabilities[start]
        for j in range(layer):
            skips[layer, j] = probabilities[start + 1 + j][1]
    figure = new_figure(4.0 + 0.3 * (space.num_branches + num_layers), 1.6 + 0.25 * num_layers)
    axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [space.num_branches,
                                                                max(1, num_layers - 1)]})
    image = None
    for ax, grid, name in ((axes[0], ops, "op"), (axes[1], skips, "P(skip from layer)")):
        image = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        ax.set_yticks(range(num_layers))
        ax.set_yticklabels([f"layer{i}" for i in range(num_layers)], fontsize=7)
        ax.set_title(name, fontsize=9)
    axes[0].set_xticks(range(space.num_branches))
    axes[0].set_xticklabels(space.ops, rotation=45, ha="right", fontsize=7)
    for layer in range(num_layers):
        col = int(np.argmax(ops[layer]))
        axes[0].text(col, layer, f"{ops[layer, col]:.2f}", ha="center", va="center",
                     fontsize=6, color="white" if ops[layer, col] < 0.6 else "black")
    axes[1].set_xticks(range(max(1, num_layers - 1)))
    axes[1].set_xlabel("input of layer", fontsize=7)
    figure.colorbar(image, ax=list(axes), fraction=0.02, pad=0.01, label="probability")
    if title:
        figure.suptitle(title, fontsize=10)
    return figure
