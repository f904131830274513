"""The ENAS recurrent cell: one time step, shared by the supernet and the fixed cell.

Node 0: ``[x_t, h_{t-1}] W_prev`` split into ``(h, t)``, ``s_0 = h_{t-1} + sigmoid(t) *
(tanh(h) - h_{t-1})``. Node ``l``: ``s_j W_l`` of the node ``j`` it reads, ``s_l = s_j +
sigmoid(t) * (f_l(h) - s_j)``. Output: the mean of ``s_1 .. s_N`` (enas_lm), or of the
nodes ``concat`` names (DARTS's genotypes say which). It is DARTS's ``DARTSCell`` too.
The variational masks (one per sequence) multiply ``x_t`` and every node's input.

``cell_step`` takes each node's previous node and function either as Python ints (a
fixed cell: plain indexing) or as scalar tensors (the supernet: a ``tf.switch_case`` picks
the node read and another runs the one activation chosen, so gradients reach only the
chosen ones, one trace serves every architecture, and nothing unchosen is computed or
copied: the supernet's step is the fixed cell's, ``benchmarks/rnn_step.py``).
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell  # not exported by keras.layers
import tensorflow as tf

ACTIVATIONS = (tf.tanh, tf.nn.relu, tf.sigmoid, tf.identity)  # FUNCTIONS' order


def _pick(items: list, index):
    """``items[index]``; for a tensor ``index`` without stacking (copying) the items."""
    if isinstance(index, int):
        return items[index]
    return tf.switch_case(index, [lambda item=item: item for item in items])


def _activate(h, function):
    """``ACTIVATIONS[function](h)``; for a tensor ``function`` only the chosen one runs."""
    if isinstance(function, int):
        return ACTIVATIONS[function](h)
    return tf.switch_case(function, [lambda f=f: f(h) for f in ACTIVATIONS])


def _highway(prev, ht, activation):
    h, t = tf.split(ht, 2, axis=-1)
    return prev + tf.sigmoid(t) * (activation(h) - prev)


def cell_step(x, h_prev, w_prev, node_kernels: Sequence, prevs: Sequence, functions: Sequence,
              x_mask=None, h_mask=None, concat: Sequence[int] | None = None):
    """``h_t`` from ``x_t`` ``[B, D]`` and ``h_{t-1}`` ``[B, H]``.

    ``w_prev``: ``[D + H, 2H]``; ``node_kernels[l]``: ``[H, 2H]`` of node ``l + 1``, which
    reads node ``prevs[l]`` through function ``functions[l]``; ``concat``: the nodes
    (``1 .. N``) the output averages, all by default.
    """
    x_in = x if x_mask is None else x * x_mask
    h_in = h_prev if h_mask is None else h_prev * h_mask
    nodes = [_highway(h_prev, tf.matmul(tf.concat([x_in, h_in], axis=1), w_prev), tf.tanh)]
    for kernel, prev, function in zip(node_kernels, prevs, functions):
        source = _pick(nodes, prev)
        source_in = source if h_mask is None else source * h_mask
        nodes.append(_highway(source, tf.matmul(source_in, kernel),
                              lambda h, f=function: _activate(h, f)))
    averaged = nodes[1:] if concat is None else [nodes[n] for n in concat]
    return tf.add_n(averaged) / float(len(averaged))


@keras.saving.register_keras_serializable(package="enas_tf")
class EnasRnnCell(keras.layers.Layer, DropoutRNNCell):
    """One fixed ENAS recurrent cell as a ``keras.layers.RNN`` cell.

    Args:
      arc: the cell (``RecurrentCellSearchSpace`` integers: (previous node, function)
        per node).
      units: hidden size ``H``.
      dropout: rate of the variational mask on ``x_t`` (enas_lm's ``drop_x``).
      recurrent_dropout: rate of the mask on ``h_{t-1}`` and every node's input
        (enas_lm's ``drop_l``).
      init_range: weights start uniform in ``[-init_range, init_range]``.
      concat: the nodes (``1 .. N``) the output averages; None: all.

    Example:

    ```python
    cell = EnasRnnCell([0, 2, 1, 0, 2, 1, 2, 2, 4, 0, 5, 0, 3, 2, 6, 2], units=64)
    outputs = keras.layers.RNN(cell, return_sequences=True)(embedded)
    ```
    """

    def __init__(self, arc: Sequence[int], units: int, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, init_range: float = 0.05, seed: int | None = None,
                 concat: Sequence[int] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.arc = [int(v) for v in arc]
        if len(self.arc) < 2 or len(self.arc) % 2:
            raise ValueError(f"a recurrent cell needs (previous node, function) pairs, got "
                             f"{len(self.arc)} integers.")
        self.units, self.init_range, self.seed = int(units), float(init_range), seed
        self.concat = None if concat is None else [int(n) for n in concat]
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.state_size = self.units
        self.output_size = self.units

    @property
    def prevs(self) -> list[int]:
        return self.arc[0::2]

    @property
    def functions(self) -> list[int]:
        return self.arc[1::2]

    def build(self, input_shape):
        init = keras.initializers.RandomUniform(-self.init_range, self.init_range, seed=self.seed)
        units = self.units
        self.w_prev = self.add_weight(shape=(int(input_shape[-1]) + units, 2 * units),
                                      initializer=init, name="w_prev")
        self.node_kernels = [self.add_weight(shape=(units, 2 * units), initializer=init,
                                             name=f"node{i + 1}_kernel")
                             for i in range(len(self.prevs))]
        self.built = True

    def call(self, inputs, states, training=False):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        x_mask = self.get_dropout_mask(inputs) if training and self.dropout else None
        h_mask = (self.get_recurrent_dropout_mask(h_prev)
                  if training and self.recurrent_dropout else None)
        h = cell_step(inputs, h_prev, self.w_prev, self.node_kernels, self.prevs,
                      self.functions, x_mask, h_mask, self.concat)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "arc": self.arc, "units": self.units,
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "init_range": self.init_range, "seed": self.seed, "concat": self.concat}
