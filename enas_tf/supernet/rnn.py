"""The shared-weight ENAS recurrent cell language model (enas_lm's search child).

Weights as enas_lm: ``W_prev`` ``[2H, 2H]`` for node 0 and, for node ``l``, one
``[H, 2H]`` kernel per (function, previous node), stored as ``[4, l, H, 2H]``. An
architecture tensor picks each node's kernel, previous node and activation by
``tf.gather`` inside the traced step, so one trace runs every cell and only the chosen
weights get gradients. The recurrence is ``RecurrentSupernetBase``'s ``tf.scan`` over time.
"""

from __future__ import annotations

import tensorflow as tf

from enas_tf.layers.rnn_cell import ACTIVATIONS, cell_step
from enas_tf.search_spaces.rnn import RecurrentCellSearchSpace
from enas_tf.supernet.recurrence import RecurrentSupernetBase


class RecurrentSupernet(RecurrentSupernetBase):
    """Every cell of ``search_space`` on shared weights.

    Args:
      search_space: the recurrent-cell space (its ``num_nodes``).
      vocab_size, hidden_size, dropouts, init_range: as ``RecurrentLanguageModel``.

    Example:

    ```python
    supernet = RecurrentSupernet(RecurrentCellSearchSpace(9), vocab_size=10000,
                                 hidden_size=200).build_for()
    logits = supernet(tokens, arc=tf.constant(arc, tf.int32))
    ```
    """

    def __init__(self, search_space: RecurrentCellSearchSpace, vocab_size: int,
                 hidden_size: int, **kwargs):
        super().__init__(search_space, vocab_size, hidden_size, **kwargs)
        h = self.hidden_size
        self.node_kernels = [
            self.add_weight(shape=(len(ACTIVATIONS), node, h, 2 * h),
                            initializer=self.kernel_init, name=f"node{node}_kernels")
            for node in range(1, search_space.num_nodes + 1)]

    def _choices(self, arc):
        arc = tf.cast(tf.convert_to_tensor(arc), tf.int32)
        return tf.unstack(arc[0::2], self.search_space.num_nodes), tf.unstack(
            arc[1::2], self.search_space.num_nodes)

    def sampled_weights(self, arc) -> list:
        """``W_prev`` and the kernel each node of ``arc`` uses (what enas_lm decays)."""
        prevs, functions = self._choices(arc)
        return [self.w_prev] + [tf.gather(tf.gather(kernels, f), p)
                                for kernels, p, f in zip(self.node_kernels, prevs, functions)]

    def call(self, tokens, arc=None, training=False, return_aux=False, initial_state=None,
             return_state=False):
        if arc is None:
            raise ValueError("the recurrent supernet needs an architecture (arc=...).")
        prevs, functions = self._choices(arc)
        w_prev, *kernels = self.sampled_weights(arc)
        return self.run_cells(
            tokens, lambda x, h, x_mask, h_mask: cell_step(x, h, w_prev, kernels, prevs,
                                                           functions, x_mask, h_mask),
            training, return_aux, initial_state, return_state)
