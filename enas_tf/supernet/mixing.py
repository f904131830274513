"""How a cell-space supernet is told which ops to run on its edges.

One mechanism for every strategy: per edge either a *weighted* row (DARTS: every op runs,
``sum_o w[o] * op_o(x)``) or a *sampled* row (GDAS, ENAS, random: only op ``index[e]``
runs, in a ``tf.switch_case``). A sampled edge returns

    w[i] * op_i(x) + sum_{o != i} w[o]

with ``i = index[e]``: the value is ``op_i(x)`` when ``w`` is a one-hot row, and every
``w[o]`` still receives a gradient (GDAS's straight-through estimator, AutoDL-Projects
``NAS201SearchCell.forward_gdas``). AutoDL's GDAS on the DARTS space returns only
``w[i] * op_i(x)`` (``MixedOp.forward_gdas``): ``rest=False``, so only ``w[i]`` receives a
gradient. A discrete architecture is the sampled form with constant one-hot rows.

A pass that differentiates only the mixing (an architecture step) calls the supernet with
``weight_gradients=False``: its edges then cut their kernels from the gradient (``held``),
so no kernel gradient is computed in that pass.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf


class SampledMixing(NamedTuple):
    """One sampled op per edge: ``weights [edges, ops]`` (one-hot in value) and
    ``index [edges]`` (int32, the op each edge runs)."""

    weights: tf.Tensor
    index: tf.Tensor


def discrete_mixing(arc, num_ops: int) -> SampledMixing:
    """A discrete choice of one op per edge (``arc`` int ``[edges]``) as sampled mixing."""
    index = tf.cast(arc, tf.int32)
    return SampledMixing(tf.one_hot(index, num_ops), index)


def is_sampled(mixing) -> bool:
    return isinstance(mixing, SampledMixing)


def sampled_output(h: tf.Tensor, weight_row: tf.Tensor, index: tf.Tensor,
                   rest: bool = True) -> tf.Tensor:
    """``w[i] * h + sum_{o != i} w[o]`` for the op ``i = index`` whose output is ``h``;
    with ``rest=False`` only ``w[i] * h``."""
    chosen = tf.gather(weight_row, index)
    if not rest:
        return chosen * h
    return chosen * h + (tf.reduce_sum(weight_row) - chosen)


def held(weights: list, weight_gradients: bool) -> list:
    """``weights``, cut from the gradient when a pass wants none for them (an
    architecture pass: ``supernet(..., weight_gradients=False)``). A non-inlined
    function's gradient is computed for every input, asked for or not: only a cut inside
    the function spares such a pass the kernels' gradients."""
    return weights if weight_gradients else [tf.stop_gradient(w) for w in weights]
