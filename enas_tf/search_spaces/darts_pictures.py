"""Heat-maps of architecture weights (DARTS, GDAS): one panel per cell type, a row per
edge (``node <- input``), a column per op, coloured by the edge's softmax weight."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from enas_tf.search_spaces.pictures import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def softmax_rows(logits) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def draw_alphas(alphas: Mapping[str, np.ndarray], title: str, edges: Sequence[str],
                ops: Sequence[str]) -> "Figure":
    """``alphas``: ``{cell type: [edges, ops] logits}``; shows their row-wise softmax, the
    strongest op of each edge written on it. ``edges``, ``ops``: the row and column
    labels (the space's ``weight_labels()``)."""
    edges = list(edges)
    figure = new_figure(4.5 * len(alphas) + 1.0, 1.5 + 0.25 * len(edges))
    axes = figure.subplots(1, len(alphas), squeeze=False)[0]
    image = None
    for ax, (cell, logits) in zip(axes, alphas.items()):
        weights = softmax_rows(logits)
        image = ax.imshow(weights, vmin=0.0, vmax=max(0.3, float(weights.max())),
                          cmap="viridis", aspect="auto")
        for row, values in enumerate(weights):
            col = int(np.argmax(values))
            ax.text(col, row, f"{values[col]:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if values[col] < 0.6 * weights.max() else "black")
        ax.set_xticks(range(len(ops)))
        ax.set_xticklabels(ops, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(weights)))
        ax.set_yticklabels(edges, fontsize=7)
        ax.set_title(f"{cell} cell", fontsize=9)
    figure.colorbar(image, ax=list(axes), fraction=0.02, pad=0.01, label="softmax weight")
    if title:
        figure.suptitle(title, fontsize=10)
    return figure
