"""DARTS's recurrent search network (quark0/darts ``rnn/model_search.py``): every node
mixes an edge from every earlier state.

Weights as DARTS: ``W_0`` ``[2H, 2H]`` for the initial state and one ``[H, 2H]`` kernel
``W_i`` per node, shared by all of the node's edges and functions. One time step:

```
s_0 = BN(h + sigmoid(c) * (tanh(g) - h)),   (c, g) = [x * m_x, h * m_h] W_0
s_i = BN(sum_{j < i} sum_{k != none} w[e(i, j), k] * (s_j + sigmoid(c_j) * (f_k(g_j) - s_j)))
      with (c_j, g_j) = (s_j * m_h) W_i
h_t = mean(s_n for n in concat)
```

BN is batch normalisation without scale or offset on batch statistics (DARTS's
``BatchNorm1d(affine=False)``; DARTS evaluates on running statistics, this supernet
always on the batch's, as the convolutional DARTS supernet does). ``none`` contributes
nothing. ``mixing`` is either the ``[edges, 5]`` weights (DARTS: ``softmax(alpha)``, every
function of every edge runs) or a ``SampledMixing`` (GDAS: only the sampled function of
each edge runs, in a ``tf.switch_case``; a discrete cell is that with one-hot rows, its
unused edges sampling ``none``). The recurrence is ``RecurrentSupernetBase``'s
``tf.scan``; one trace serves every mixing.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from enas_tf.layers.rnn_cell import ACTIVATIONS
from enas_tf.search_spaces.rnn import PRIMITIVES, RecurrentCellSearchSpace, edge_index
from enas_tf.supernet.mixing import SampledMixing, held, is_sampled, sampled_output
from enas_tf.supernet.recurrence import RecurrentSupernetBase

BN_EPSILON = 1e-5  # PyTorch's BatchNorm1d


def batch_norm(x):
    """Normalised over the batch (axis 0), no scale or offset (the biased variance, as
    PyTorch normalises; written out so that second derivatives are exact too)."""
    centred = x - tf.reduce_mean(x, axis=0, keepdims=True)
    variance = tf.reduce_mean(tf.square(centred), axis=0, keepdims=True)
    return centred * tf.math.rsqrt(variance + BN_EPSILON)


def highway(state, ch, activation):
    c, g = tf.split(ch, 2, axis=-1)
    return state + tf.sigmoid(c) * (activation(g) - state)


class DartsRecurrentSupernet(RecurrentSupernetBase):
    """Every cell of ``search_space`` as DARTS's mixed recurrent cell.

    Args:
      search_space: the recurrent-cell space (its ``num_nodes`` and ``concat``).
      vocab_size, hidden_size, dropouts, init_range, softmax_bias: as
        ``RecurrentLanguageModel`` (DARTS: init 0.04, a softmax bias).

    Example:

    ```python
    space = RecurrentCellSearchSpace(8)
    supernet = DartsRecurrentSupernet(space, vocab_size=10000, hidden_size=300).build_for()
    logits = supernet(tokens, tf.nn.softmax(alpha))          # alpha [36, 5]
    logits = supernet(tokens, supernet.arch_input(space.from_string("DARTS_V2")))
    ```
    """

    def __init__(self, search_space: RecurrentCellSearchSpace, vocab_size: int,
                 hidden_size: int, **kwargs):
        super().__init__(search_space, vocab_size, hidden_size, **kwargs)
        h = self.hidden_size
        self.node_kernels = [self.add_weight(shape=(h, 2 * h), initializer=self.kernel_init,
                                             name=f"node{node}_kernel")
                             for node in range(1, search_space.num_nodes + 1)]

    # --- what it runs on ------------------------------------------------------------

    def arch_input(self, arc: Sequence[int]) -> SampledMixing:
        """A discrete cell as sampled mixing: per node, its one edge runs its function."""
        arc = self.search_space.validate(arc)
        index = np.zeros([self.search_space.num_edges], np.int32)
        for node, (prev, function) in enumerate(zip(arc[0::2], arc[1::2]), start=1):
            index[edge_index(node, prev)] = function + 1  # column 0 is none
        index = tf.constant(index)
        return SampledMixing(tf.one_hot(index, len(PRIMITIVES)), index)

    def _as_mixing(self, arc):
        """``arc`` as mixing: kept if mixing already (or a strategy's ``{"recurrent":
        mixing}``); an int tensor (a cell, e.g. a random strategy's sample) becomes its
        one-hot sampled form inside the graph."""
        if arc is None:
            raise ValueError("the DARTS recurrent supernet needs mixing weights or a cell.")
        if isinstance(arc, dict):
            arc = arc["recurrent"]
        if is_sampled(arc):
            return arc
        arc = tf.convert_to_tensor(arc)
        if not arc.dtype.is_integer:
            return arc
        nodes = self.search_space.num_nodes
        prevs, functions = tf.cast(arc[0::2], tf.int32), tf.cast(arc[1::2], tf.int32)
        offsets = tf.constant([edge_index(n, 0) for n in range(1, nodes + 1)], tf.int32)
        index = tf.tensor_scatter_nd_update(tf.zeros([self.search_space.num_edges], tf.int32),
                                            (offsets + prevs)[:, None], functions + 1)
        return SampledMixing(tf.one_hot(index, len(PRIMITIVES)), index)

    def sampled_weights(self, arc) -> list:
        """The cell kernels every cell uses (all of them: each node has one)."""
        del arc
        return [self.w_prev, *self.node_kernels]

    # --- the network ----------------------------------------------------------------

    def _node(self, states, kernel, rows, index, h_mask):
        """One node of the mixed cell from the earlier ``states``."""
        stacked = tf.stack(states)  # [n, B, H]
        inputs = stacked if h_mask is None else stacked * h_mask
        n = len(states)
        ch = tf.reshape(tf.matmul(tf.reshape(inputs, [-1, self.hidden_size]), kernel),
                        [n, -1, 2 * self.hidden_size])
        if index is None:  # every function of every edge, weighted
            c, g = tf.split(ch, 2, axis=-1)
            gate = tf.sigmoid(c)
            weights = rows[:, 1:]  # [n, 4] without none
            activated = tf.stack([f(g) for f in ACTIVATIONS], axis=1)  # [n, 4, B, H]
            mixed = tf.einsum("nk,nkbh->nbh", weights, activated)
            kept = tf.reduce_sum(weights, axis=1)[:, None, None]
            return tf.reduce_sum(kept * stacked * (1.0 - gate) + gate * mixed, axis=0)
        outputs = []
        for j in range(n):
            branches = [lambda: tf.zeros_like(states[j])] + [
                lambda f=f, j=j: highway(states[j], ch[j], f) for f in ACTIVATIONS]
            chosen = tf.switch_case(index[j], branches)
            outputs.append(sampled_output(chosen, rows[j], index[j]))
        return tf.add_n(outputs)

    def _cell(self, x, h, mixing, x_mask, h_mask, kernels=None):
        """One step of the mixed cell; ``kernels``: ``[W_0, node kernels...]`` (default:
        the variables)."""
        kernels = [self.w_prev, *self.node_kernels] if kernels is None else kernels
        weights, index = (mixing.weights, mixing.index) if is_sampled(mixing) else (mixing, None)
        x_in = x if x_mask is None else x * x_mask
        h_in = h if h_mask is None else h * h_mask
        states = [batch_norm(highway(h, tf.matmul(tf.concat([x_in, h_in], 1), kernels[0]),
                                     tf.tanh))]
        for node, kernel in enumerate(kernels[1:], start=1):
            rows = weights[edge_index(node, 0):edge_index(node + 1, 0)]
            node_index = None if index is None else index[edge_index(node, 0):
                                                          edge_index(node + 1, 0)]
            states.append(batch_norm(self._node(states, kernel, rows, node_index, h_mask)))
        return tf.add_n([states[n] for n in self.search_space.concat]) / float(
            len(self.search_space.concat))

    def call(self, tokens, arc=None, training=False, return_aux=False, initial_state=None,
             return_state=False, weight_gradients=True):
        """Logits of ``tokens`` under ``arc`` (see ``RecurrentSupernetBase.run_cells``);
        ``weight_gradients=False``: the cell's kernels get no gradient (an architecture
        pass), so none is computed in the scan's backward pass."""
        mixing = self._as_mixing(arc)
        kernels = held([self.w_prev, *self.node_kernels], weight_gradients)
        if is_sampled(mixing):
            mixing = SampledMixing(tf.cast(mixing.weights, self.compute_dtype),
                                   tf.cast(mixing.index, tf.int32))
        else:
            mixing = tf.cast(mixing, self.compute_dtype)
        return self.run_cells(
            tokens,
            lambda x, h, x_mask, h_mask: self._cell(x, h, mixing, x_mask, h_mask, kernels),
            training, return_aux, initial_state, return_state)
