"""Pictures of architectures and policies, for people who would rather look than read.

Every space can draw the choice probabilities of its decisions as heat-maps (one panel
per group of decisions that share their choices) and an architecture as a table of its
choices; cell spaces draw their cells as graphs (``micro_pictures``). Figures become
PNG bytes for files and TensorBoard image summaries. matplotlib renders off-screen
(Agg), so no display is needed.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The drawing style every space's pictures share: short op names, op and node colours.
# (Functions here take the space object they draw; nothing imports a space module.)
SHORT_OP_NAMES = {"sep_conv_3x3": "sep 3x3", "sep_conv_5x5": "sep 5x5",
                  "avg_pool_3x3": "avg 3x3", "max_pool_3x3": "max 3x3", "identity": "id",
                  "skip_connect": "skip", "dil_conv_3x3": "dil 3x3", "dil_conv_5x5": "dil 5x5",
                  "nor_conv_1x1": "conv 1x1", "nor_conv_3x3": "conv 3x3"}
OP_COLORS = {"sep_conv_3x3": "tab:blue", "sep_conv_5x5": "tab:purple",
             "avg_pool_3x3": "tab:green", "max_pool_3x3": "tab:orange", "identity": "tab:gray",
             "skip_connect": "tab:gray", "dil_conv_3x3": "tab:red", "dil_conv_5x5": "tab:brown",
             "nor_conv_1x1": "tab:cyan", "nor_conv_3x3": "tab:blue"}
NODE_COLORS = {"input": "#cfe2f3", "node": "#fff2cc", "output": "#d9ead3"}


def line(ax: "Axes", start, end, color, rad=0.0, dashed=False, arrow=True, shrink=(14, 14)):
    """An edge of a cell picture: a (curved, dashed) arrow between two node centres."""
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(FancyArrowPatch(
        start, end, arrowstyle="-|>" if arrow else "-", mutation_scale=9, color=color,
        lw=1.1, linestyle="--" if dashed else "-", shrinkA=shrink[0], shrinkB=shrink[1],
        connectionstyle=f"arc3,rad={rad}"))


def new_figure(width: float, height: float) -> "Figure":
    """A figure not attached to any GUI (safe in threads, servers and tests)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def to_png(figure: "Figure") -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def save_png(figure: "Figure", path: str) -> str:
    with open(path, "wb") as f:
        f.write(to_png(figure))
    return path


def summary_image(figure: "Figure"):
    """The figure as a ``[1, H, W, 4]`` uint8 tensor for ``tf.summary.image``."""
    import tensorflow as tf

    return tf.image.decode_png(to_png(figure), channels=4)[None]


def decision_groups(decisions: Sequence) -> list[tuple[str, list[int]]]:
    """Decisions grouped for heat-maps: same first name part and the same kind of
    choices (labelled ops, or indices), in order of first appearance."""
    groups: dict[tuple, list[int]] = {}
    for i, decision in enumerate(decisions):
        head = decision.name.split("/")[0] if "/" in decision.name else ""
        kind = decision.labels if decision.labels else "index"
        groups.setdefault((head, kind), []).append(i)
    titled = []
    for (head, kind), members in groups.items():
        what = "choice" if kind == "index" else "op"
        if kind == "index" and all("input" in decisions[i].name for i in members):
            what = "input node"
        titled.append((f"{head}: {what}" if head else what, members))
    return titled


def draw_probabilities(space, probabilities: Sequence[np.ndarray],
                       title: str = "") -> "Figure":
    """Heat-maps of each decision's choice probabilities (rows: decisions, columns:
    choices; impossible choices blank; the likeliest choice's probability written on
    it), one panel per decision group."""
    decisions = space.decisions
    groups = decision_groups(decisions)
    widths = [max(decisions[i].num_choices for i in members) for _, members in groups]
    rows = max(len(members) for _, members in groups)
    figure = new_figure(max(4.0, 1.0 + sum(0.55 * w + 1.8 for w in widths)),
                        1.4 + 0.28 * rows)
    axes = figure.subplots(1, len(groups), squeeze=False,
                           gridspec_kw={"width_ratios": widths})[0]
    image = None
    for ax, (name, members), width in zip(axes, groups, widths):
        grid = np.full((len(members), width), np.nan)
        for row, i in enumerate(members):
            grid[row, :decisions[i].num_choices] = probabilities[i]
        image = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        for row, i in enumerate(members):  # the likeliest choice's probability, per row
            col = int(np.argmax(probabilities[i]))
            value = float(probabilities[i][col])
            ax.text(col, row, f"{value:.2f}"[1:] if value < 1 else "1", ha="center",
                    va="center", fontsize=6, color="white" if value < 0.6 else "black")
        labels = decisions[members[0]].labels
        ax.set_xticks(range(width))
        ax.set_xticklabels(labels if labels else [str(c) for c in range(width)],
                           rotation=45 if labels else 0, ha="right" if labels else "center",
                           fontsize=7)
        ax.set_yticks(range(len(members)))
        ax.set_yticklabels(["/".join(decisions[i].name.split("/")[1:]) or decisions[i].name
                            for i in members], fontsize=7)
        ax.set_title(name, fontsize=9)
    figure.colorbar(image, ax=list(axes), fraction=0.02, pad=0.01, label="probability")
    if title:
        figure.suptitle(title, fontsize=10)
    return figure


def draw_choices(space, arc: Sequence[int], title: str = "") -> "Figure":
    """Any architecture as a two-column table of decisions and chosen values."""
    arc = space.validate(arc)
    rows = [(d.name, d.labels[v] if d.labels else str(v)) for d, v in zip(space.decisions, arc)]
    figure = new_figure(5.0, 0.6 + 0.25 * len(rows))
    ax = figure.subplots()
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=["decision", "choice"], loc="center",
                     cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    if title:
        ax.set_title(title, fontsize=10)
    return figure
